/*
 * jdl_check: the rules a description and a submitted value must follow —
 * values against a parameter's type, MIN/MAX and OPTION list, reserved
 * names, and the load-time checks of a whole description. See jdl.h.
 */
#include "jdl/jdl-int.h"

#include <libxml/xmlstring.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Words a UWS client sends as job-control parameters (UWS 1.1 §2.2.3); compared
 * case-insensitively, as parameter names are on input. */
static const char *const uws_words[] = {
    "phase", "action", "runid", "executionduration", "destruction", "wait",
    "quote", "owner",  "jobid", "parameters",	     "results",	    "error",
};

/*
 * Names a parameter, Used or Generated entity may not have, because the job
 * would not receive its value intact or would run differently. Compared
 * exactly (case-sensitive), as the kernel, the C library and bash compare
 * them: `seconds`, `home` or `tz` are free names, `SECONDS` is not.
 *  - what the scheduler sets (sched_run.c): PATH, HOME, LANG, OPUS_JOB_ID,
 *    OPUS_EVENT_TOKEN, and the SLURM backend OPUS_EVENT_URL (the OPUS_ family);
 *  - what bash assigns or resets when it starts, so that a parameter of that
 *    name arrives overwritten (bash 5: IFS, PS4, SECONDS, RANDOM, SHLVL, PWD,
 *    OPTIND, PPID, ...), or keeps read-only (UID, EUID, GROUPS, SHELLOPTS,
 *    BASHOPTS);
 *  - what makes bash run differently: ENV, CDPATH, GLOBIGNORE, EXECIGNORE,
 *    POSIXLY_CORRECT, FUNCNEST, TMOUT, and the BASH_ family below (BASH_ENV
 *    runs a file, BASH_FUNC_x%% imports a function);
 *  - what the dynamic loader and the C library read at start-up: glibc's own
 *    list of variables unsafe for set-uid programs (GCONV_PATH, LOCALDOMAIN,
 *    TMPDIR, TZDIR, ...), GLIBC_TUNABLES, and the LD_, LC_, MALLOC_ families.
 * Names that merely mean something to some programs (USER, TERM, TZ, SHELL)
 * arrive as given and are allowed.
 */
/* clang-format off */
static const char *const env_names[] = {
    "PATH", "HOME", "LANG",
    "BASH", "BASHPID", "BASHOPTS", "SHELLOPTS", "DIRSTACK", "EPOCHREALTIME", "EPOCHSECONDS",
    "EUID", "FUNCNAME", "GROUPS", "HISTCMD", "IFS", "LINENO", "OLDPWD", "OPTERR", "OPTIND",
    "PIPESTATUS", "PPID", "PS4", "PWD", "RANDOM", "SECONDS", "SHLVL", "SRANDOM", "UID", "_",
    "CDPATH", "ENV", "EXECIGNORE", "FUNCNEST", "GLOBIGNORE", "POSIXLY_CORRECT", "TMOUT",
    "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH",
    "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TMPDIR", "TZDIR",
};
/* clang-format on */

/* Whole families, also exact: opusd's own (OPUS_JOB_ID, ...), the loader's,
 * bash's (BASH_ENV, BASH_FUNC_*, BASH_XTRACEFD), the locale's (LC_ALL, ...)
 * and glibc malloc's tunables. */
static const char *const env_prefixes[] = {"OPUS_", "LD_", "BASH_", "LC_", "MALLOC_"};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(name, list[i]) == 0)
			return true;
	}
	return false;
}

/* Why a name is refused as a parameter, Used or Generated name; NULL if not. */
static const char *reserved_reason(const char *name)
{
	if (in_list(name, uws_words, OPUS_ARRAY_LEN(uws_words)))
		return "name is reserved by UWS";
	for (size_t i = 0; i < OPUS_ARRAY_LEN(env_names); i++) {
		if (strcmp(name, env_names[i]) == 0)
			return "name would clobber the job's environment";
	}
	for (size_t i = 0; i < OPUS_ARRAY_LEN(env_prefixes); i++) {
		if (strncmp(name, env_prefixes[i], strlen(env_prefixes[i])) == 0)
			return "name would clobber the job's environment";
	}
	return NULL;
}

bool jdl_name_is_reserved(const char *name)
{
	return name && reserved_reason(name) != NULL;
}

/* ---- values ---------------------------------------------------------- */

static bool is_integer_type(enum jdl_type t)
{
	return t == JDL_SHORT || t == JDL_INT || t == JDL_LONG;
}

static bool is_real_type(enum jdl_type t)
{
	return t == JDL_FLOAT || t == JDL_DOUBLE;
}

static int integer_of(enum jdl_type t, const char *s, int64_t *out)
{
	int64_t lo = INT64_MIN, hi = INT64_MAX, v;
	if (t == JDL_SHORT) {
		lo = INT16_MIN;
		hi = INT16_MAX;
	} else if (t == JDL_INT) {
		lo = INT32_MIN;
		hi = INT32_MAX;
	}
	if (parse_int64(s, &v) != 0 || v < lo || v > hi)
		return OPUS_ERR_INVAL;
	*out = v;
	return 0;
}

/* Decimal notation only: no spaces, hex, "inf" or "nan" that strtod takes. */
static int real_of(enum jdl_type t, const char *s, double *out)
{
	char *end;
	double v;
	if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
		return OPUS_ERR_INVAL;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v) || (t == JDL_FLOAT && fabs(v) > 3.4028234663852886e38))
		return OPUS_ERR_INVAL;
	*out = v;
	return 0;
}

static int bool_of(const char *s)
{
	static const char *const yes[] = {"true", "1", "yes"}, *const no[] = {"false", "0", "no"};
	if (in_list(s, yes, OPUS_ARRAY_LEN(yes)) || in_list(s, no, OPUS_ARRAY_LEN(no)))
		return 0;
	return OPUS_ERR_INVAL;
}

/* scheme ":" rest (RFC 3986 §3.1), printable ASCII without spaces. */
static int uri_of(const char *s)
{
	size_t i = 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return OPUS_ERR_INVAL;
	while (s[i] && s[i] != ':') {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.",
			    s[i]))
			return OPUS_ERR_INVAL;
		i++;
	}
	if (s[i] != ':' || s[i + 1] == '\0')
		return OPUS_ERR_INVAL;
	for (; s[i]; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return OPUS_ERR_INVAL;
	}
	return 0;
}

static char *check_text(const char *v)
{
	if (strlen(v) > JDL_VALUE_MAX)
		return xasprintf("must be at most %d bytes long", JDL_VALUE_MAX);
	return NULL;
}

/* The type rule alone; a malloc'd reason or NULL. */
static char *check_type(enum jdl_type t, const char *v)
{
	int64_t i;
	double d;

	switch (t) {
	case JDL_BOOLEAN:
		return bool_of(v) == 0 ? NULL : xstrdup("must be true or false");
	case JDL_SHORT:
	case JDL_INT:
	case JDL_LONG:
		if (parse_int64(v, &i) != 0)
			return xstrdup("must be an integer");
		if (integer_of(t, v, &i) != 0)
			return xasprintf(
			    "must be an integer between %lld and %lld",
			    t == JDL_SHORT ? (long long)INT16_MIN : (long long)INT32_MIN,
			    t == JDL_SHORT ? (long long)INT16_MAX : (long long)INT32_MAX);
		return NULL;
	case JDL_FLOAT:
	case JDL_DOUBLE:
		return real_of(t, v, &d) == 0 ? NULL : xstrdup("must be a finite decimal number");
	case JDL_ANYURI:
		if (uri_of(v) != 0)
			return xstrdup("must be a URI with a scheme, such as https://...");
		return check_text(v);
	case JDL_CHAR:
		return check_text(v);
	case JDL_FILE:
	case JDL_TYPE_COUNT:
		break;
	}
	return NULL;
}

/* <0, 0, >0 as v compares with the bound; the bound was checked at load. */
static int compare_bound(enum jdl_type t, const char *v, const char *bound)
{
	int64_t a = 0, b = 0;
	double x = 0, y = 0;
	if (is_integer_type(t)) {
		if (integer_of(t, v, &a) != 0 || integer_of(t, bound, &b) != 0)
			return 0;
		return (a > b) - (a < b);
	}
	if (real_of(t, v, &x) != 0 || real_of(t, bound, &y) != 0)
		return 0;
	return (x > y) - (x < y);
}

static char *check_range(const struct jdl_param *p, const char *v)
{
	if (!is_integer_type(p->type) && !is_real_type(p->type))
		return NULL;
	if (p->min && compare_bound(p->type, v, p->min) < 0)
		return xasprintf("must be >= %s", p->min);
	if (p->max && compare_bound(p->type, v, p->max) > 0)
		return xasprintf("must be <= %s", p->max);
	return NULL;
}

static char *check_options(const struct jdl_param *p, const char *v)
{
	struct sbuf sb = SBUF_INIT;
	if (p->noptions == 0)
		return NULL;
	for (size_t i = 0; i < p->noptions; i++) {
		if (strcmp(v, p->options[i]) == 0)
			return NULL;
	}
	sbuf_adds(&sb, "must be one of: ");
	for (size_t i = 0; i < p->noptions; i++)
		sbuf_addf(&sb, "%s%s", i ? ", " : "", p->options[i]);
	return sbuf_detach(&sb, NULL);
}

int jdl_check_value(const struct jdl_param *p, const char *value, char **why_out)
{
	char *why;

	if (!value)
		why = xstrdup("is required");
	else if (!(why = check_type(p->type, value)) && !(why = check_range(p, value)))
		why = check_options(p, value);
	if (why_out)
		*why_out = why;
	else
		free(why);
	return why ? OPUS_ERR_INVAL : 0;
}

/* ---- load-time rules ------------------------------------------------- */

unsigned jdl_non_xml_char(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len; i++) {
		if (u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
			return u[i];
		if (u[i] == 0xef && i + 2 < len && u[i + 1] == 0xbf && u[i + 2] >= 0xbe)
			return u[i + 2] == 0xbe ? 0xfffe : 0xffff;
	}
	return 0;
}

char *jdl_check_text(const char *what, const char *s, size_t len)
{
	unsigned c;

	if (memchr(s, '\0', len) || !xmlCheckUTF8((const xmlChar *)s))
		return xasprintf("%s: not UTF-8 text", what);
	if ((c = jdl_non_xml_char(s, len)))
		return xasprintf("%s: character U+%04X cannot be written in XML", what, c);
	return NULL;
}

/* One named thing of a description, for messages and the duplicate check. */
struct named {
	const char *kind;  /* "PARAM" or "GROUP" */
	const char *group; /* "InputParams", "Used", "Generated" */
	const char *name;
};

static char *named_error(const struct named *n, const char *problem)
{
	return xasprintf("%s \"%s\" in GROUP %s: %s", n->kind, n->name, n->group, problem);
}

static char *check_name(const struct named *n)
{
	const char *why;
	if (!name_is_identifier(n->name) || strlen(n->name) > JDL_NAME_MAX)
		return named_error(n, "name must be an identifier ([A-Za-z_][A-Za-z0-9_]*, at "
				      "most 64 characters)");
	why = reserved_reason(n->name);
	return why ? named_error(n, why) : NULL;
}

/* A MIN or MAX must be a number of the parameter's type. */
static char *check_bound(const struct named *n, const struct jdl_param *p, const char *what,
			 const char *bound)
{
	char *why, *msg;
	if (!bound)
		return NULL;
	if (!is_integer_type(p->type) && !is_real_type(p->type))
		return named_error(n, "VALUES MIN/MAX only apply to numeric datatypes");
	why = check_type(p->type, bound);
	if (!why)
		return NULL;
	msg = xasprintf("%s \"%s\" in GROUP %s: VALUES %s \"%s\" %s", n->kind, n->name, n->group,
			what, bound, why);
	free(why);
	return msg;
}

static char *check_param(const struct named *n, const struct jdl_param *p)
{
	char *why, *msg;

	if ((msg = check_bound(n, p, "MIN", p->min)) || (msg = check_bound(n, p, "MAX", p->max)))
		return msg;
	if (p->min && p->max && compare_bound(p->type, p->min, p->max) > 0)
		return named_error(n, "VALUES MIN is greater than MAX");
	for (size_t i = 0; i < p->noptions; i++) {
		if ((why = check_type(p->type, p->options[i]))) {
			msg = xasprintf("%s \"%s\" in GROUP %s: OPTION \"%s\" %s", n->kind, n->name,
					n->group, p->options[i], why);
			free(why);
			return msg;
		}
	}
	if (p->default_value && jdl_check_value(p, p->default_value, &why) != 0) {
		msg = xasprintf("%s \"%s\" in GROUP %s: default value \"%s\" %s", n->kind, n->name,
				n->group, p->default_value, why);
		free(why);
		return msg;
	}
	return NULL;
}

/* Every name of the description, in document order. Caller frees the array. */
static struct named *collect_names(const struct jdl *j, size_t *n_out)
{
	size_t n = 0;
	struct named *all = xcalloc(j->nparams + j->nused + j->ngenerated, sizeof(*all));
	for (size_t i = 0; i < j->nparams; i++)
		all[n++] = (struct named){"PARAM", "InputParams", j->params[i].name};
	for (size_t i = 0; i < j->nused; i++)
		all[n++] = (struct named){"GROUP", "Used", j->used[i].name};
	for (size_t i = 0; i < j->ngenerated; i++)
		all[n++] = (struct named){"GROUP", "Generated", j->generated[i].name};
	*n_out = n;
	return all;
}

static char *check_names(const struct jdl *j)
{
	size_t n;
	struct named *all = collect_names(j, &n);
	char *msg = NULL;

	for (size_t i = 0; i < n && !msg; i++) {
		msg = check_name(&all[i]);
		for (size_t k = 0; k < i && !msg; k++) {
			/* OPUS's way of letting the user name an output file: a
			 * result named like a parameter is the file that value names. */
			bool named_output = !strcmp(all[i].group, "Generated") &&
					    !strcmp(all[k].group, "InputParams") &&
					    !strcmp(all[i].name, all[k].name);
			if (!named_output && strcasecmp(all[i].name, all[k].name) == 0)
				msg = xasprintf("%s \"%s\" in GROUP %s: duplicate name (also %s "
						"\"%s\" in GROUP %s)",
						all[i].kind, all[i].name, all[i].group, all[k].kind,
						all[k].name, all[k].group);
		}
	}
	free(all);
	return msg;
}

bool jdl_resource_value_ok(const char *s)
{
	static const char chars[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:,=-";
	size_t len = s ? strlen(s) : 0;

	return len > 0 && len <= JDL_RESOURCE_MAX && strspn(s, chars) == len;
}

const char *const jdl_resource_names[JDL_NRESOURCES] = {
    "partition", "account", "gres", "nodes", "tasksPerNode", "cpusPerTask",
};

int jdl_resource_index(const char *name)
{
	for (int i = 0; name && i < JDL_NRESOURCES; i++) {
		if (strcasecmp(name, jdl_resource_names[i]) == 0)
			return i;
	}
	return -1;
}

char *jdl_resource_check(int i, const char *value)
{
	int64_t n;

	if (i < 0 || i >= JDL_NRESOURCES)
		return xstrdup("not a resource");
	if (i < 3)
		return jdl_resource_value_ok(value)
			   ? NULL
			   : xasprintf("must be 1 to %d characters of [A-Za-z0-9_.:,=-]",
				       JDL_RESOURCE_MAX);
	if (!value || parse_int64(value, &n) != 0 || n < 1 || n > 100000)
		return xstrdup("must be a whole number from 1 to 100000");
	return NULL;
}

/* partition, account, gres: they become #SBATCH lines of the SLURM backend. */
static char *check_resources(const struct jdl *j)
{
	const struct {
		const char *name, *value;
	} r[] = {{"partition", j->partition}, {"account", j->account}, {"gres", j->gres}};

	for (size_t i = 0; i < OPUS_ARRAY_LEN(r); i++) {
		if (r[i].value && !jdl_resource_value_ok(r[i].value))
			return xasprintf("PARAM \"%s\": value must be 1 to %d characters of "
					 "[A-Za-z0-9_.:,=-]",
					 r[i].name, JDL_RESOURCE_MAX);
	}
	if (j->backend && strcmp(j->backend, "local") != 0 && strcmp(j->backend, "slurm") != 0)
		return xstrdup("PARAM \"backend\": value must be local or slurm "
			       "(or no such PARAM: the server's backend)");
	return NULL;
}

char *jdl_validate(const struct jdl *j)
{
	char *msg;

	if (!j->script || !j->script[strspn(j->script, " \t\r\n")])
		return xstrdup("PARAM \"script\": missing or empty");
	if ((msg = check_names(j)) || (msg = check_resources(j)))
		return msg;
	for (size_t i = 0; i < j->nparams; i++) {
		struct named n = {"PARAM", "InputParams", j->params[i].name};
		if ((msg = check_param(&n, &j->params[i])))
			return msg;
	}
	return NULL;
}
