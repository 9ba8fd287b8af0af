// The CodeMirror 6 bundle of the web client (web/vendor/codemirror-*/codemirror.js):
// what web/js/pages/editor.js imports, bundled by scripts/vendor-web.sh with esbuild
// into one ES module without bare imports (the browser cannot resolve those under the
// client's CSP without an import map).
export {EditorView, keymap, placeholder} from '@codemirror/view';
export {EditorState, Compartment} from '@codemirror/state';
export {basicSetup, minimalSetup} from 'codemirror';
export {StreamLanguage, syntaxHighlighting, defaultHighlightStyle} from '@codemirror/language';
export {shell} from '@codemirror/legacy-modes/mode/shell';
