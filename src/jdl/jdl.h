/*
 * jdl: job descriptions in the OPUS format — a VOTable RESOURCE with
 * utype="voprov:ActivityDescription" holding PARAMs (executionDuration,
 * quote, script, ...), GROUP InputParams (the job's parameters), GROUP Used
 * (input entities) and GROUP Generated (results). The files in
 * tests/data/opus-jdl/ are real OPUS examples; jobdefs/ holds more.
 *
 * Parsing uses libxml2 with XML_PARSE_NONET and without entity substitution
 * (no network, no entity expansion attacks). Character references such as
 * &#13;&#10; in the script are kept as the characters they stand for.
 *
 * Threading: a parsed struct jdl is immutable and reference counted, so it
 * may be shared between threads; the registry swaps whole sets under a lock
 * (SIGHUP reload) while jobs keep the reference they took.
 * Ownership: jdl_parse_*() return a jdl with one reference; jdl_unref()
 * frees it when the last reference goes. Strings inside are owned by it.
 */
#ifndef OPUS_JDL_H
#define OPUS_JDL_H

#include "base/base.h"

#define JDL_NAME_MAX 64

/* clang-format off */
#define JDL_TYPES(X)                                                                               \
	X(BOOLEAN, "boolean")                                                                      \
	X(SHORT, "short") X(INT, "int") X(LONG, "long") X(CHAR, "char") X(FLOAT, "float")          \
	    X(DOUBLE, "double") X(ANYURI, "anyURI") X(FILE, "file")
/* clang-format on */

enum jdl_type {
#define JDL_TYPE_ENUM(e, s) JDL_##e,
	JDL_TYPES(JDL_TYPE_ENUM)
#undef JDL_TYPE_ENUM
	    JDL_TYPE_COUNT
};
const char *jdl_type_name(enum jdl_type t); /* "int", static */

/* One parameter of GROUP InputParams. Strings may be NULL when absent. */
struct jdl_param {
	char *name;
	enum jdl_type type; /* JDL_FILE when xtype="application/octet-stream" or datatype="file" */
	char *datatype;	    /* as written */
	char *xtype;
	char *arraysize;
	char *unit;
	char *ucd;
	char *utype;
	char *description;
	char *default_value; /* the PARAM value attribute; NULL when absent or "" */
	bool required;	     /* no default and not type="no_query" (OPUS's "optional") */
	char *min;	     /* VALUES/MIN value */
	char *max;	     /* VALUES/MAX value */
	char **options;	     /* VALUES/OPTION values */
	size_t noptions;
};

/* One GROUP of Used (an input entity) or of Generated (a result). Strings
 * may be NULL when absent; a PARAM written with value="" counts as absent. */
struct jdl_entity {
	char *name;
	char *description;
	char *role;
	char *multiplicity;
	char *default_value; /* Used: default input; Generated: file name or glob */
	char *content_type;
	char *url; /* Used only: template with $ID */
};

struct jdl {
	char *name;
	char *description;
	char *doculink;
	char *type;
	char *subtype;
	char *version;
	char *contact_name;
	char *contact_email;
	int64_t execution_duration; /* seconds, 0 when absent */
	int64_t quote;		    /* seconds, 0 when absent */
	/* Limits the job asks for (PARAMs maxMemory bytes, maxProcesses,
	 * maxOpenFiles, maxCpuTime seconds); 0 when absent; capped by the
	 * configuration's. */
	int64_t max_memory, max_processes, max_open_files, max_cpu_time;
	/* What a batch backend asks its scheduler for (PARAMs partition,
	 * account, gres, nodes, tasksPerNode, cpusPerTask); NULL / 0 when
	 * absent (the server's default). The strings are 1 to 64 characters of
	 * [A-Za-z0-9_.:,=-], as the SLURM backend requires. */
	char *partition, *account, *gres;
	int64_t nodes, tasks_per_node, cpus_per_task;
	/* The executor its jobs run on (PARAM backend: "local" or "slurm");
	 * NULL: the server's ([jobs] backend). One the server has not opened
	 * ([jobs] backends) makes its jobs ERROR with the reason. */
	char *backend;
	char *script; /* bash script text; never NULL after a successful parse */
	struct jdl_param *params;
	size_t nparams;
	struct jdl_entity *used;
	size_t nused;
	struct jdl_entity *generated;
	size_t ngenerated;
	char hash[65]; /* sha256 (hex) of the source document */
	char *source;  /* the source document as loaded (a JSON upload: the XML written
			  from it), served by GET /jdl/{name} */
	size_t source_len;
	int refs; /* managed by jdl_ref/jdl_unref (atomic) */
};

/*
 * Parses one description. `name` is the expected job description name (the
 * file name without .xml); the RESOURCE name must match it when present.
 * On failure returns OPUS_ERR_INVAL and sets *err_out to a malloc'd message
 * naming the element and the problem (caller frees).
 * Refused at load: names that are not safe identifiers, duplicate names
 * (case-insensitively) across params, Used and Generated, names reserved by
 * UWS (phase, runid, executionduration, destruction, action, wait, ...;
 * case-insensitively) and names that would clobber the job's environment
 * (exactly, case-sensitive: PATH, HOME, SECONDS, IFS, LD_PRELOAD, BASH_ENV,
 * ...; the list and why is in jdl_check.c; `home` or `seconds` are free).
 */
int jdl_parse_file(const char *path, const char *name, struct jdl **out, char **err_out) OPUS_WUR;
int jdl_parse_buffer(const char *buf, size_t len, const char *name, struct jdl **out,
		     char **err_out) OPUS_WUR;
/*
 * The same from the JSON shape jdl_write_json() writes, plus a "script"
 * string (that shape leaves the script out); null or a missing key means
 * absent, "" too where the VOTable reader treats value="" so. Unknown keys
 * are refused. `name` may be NULL: the "name" field then gives it. Held to
 * the same load-time rules; messages name the JSON field, such as
 * `parameters[2].datatype: unknown type "integer"`. A "file" parameter
 * becomes datatype "char" with xtype "application/octet-stream", as OPUS
 * writes it. The hash is that of the VOTable jdl_write_xml() makes of the
 * result, so a description has one hash whichever shape it came in.
 */
int jdl_parse_json(const char *buf, size_t len, const char *name, struct jdl **out,
		   char **err_out) OPUS_WUR;

/*
 * An OPUS site's description folder (OPUS's own layout, which the registry
 * reads besides {name}.xml): votable/{name}_vot.xml, json/{name}.json (what
 * OPUS's JSONFile writes: its "content" dict, parameters keyed by name,
 * datatypes such as "xs:string", "annotation" for descriptions) and
 * wadl/{name}.wadl (what OPUS's WADLFile writes from uws_template.wadl), with
 * scripts/{name}.sh holding the script when the document has none. The JSON
 * and WADL readers map OPUS's fields onto struct jdl and hold the result to
 * the same load-time rules; its source and hash are those of the VOTable
 * jdl_write_xml() makes of it, as for jdl_parse_json(). So is a VOTable's
 * when its script came from outside it. WADL is read like the VOTable:
 * libxml2 without network, without entities, a DOCTYPE refused.
 */
struct jdl_doc {
	const char *buf; /* the document */
	size_t len;
	const char *name;   /* the name its file gives, or NULL (then the document's) */
	const char *script; /* the script when the document has none, or NULL */
};
int jdl_parse_votable(const struct jdl_doc *doc, struct jdl **out, char **err_out) OPUS_WUR;
int jdl_parse_opus_json(const struct jdl_doc *doc, struct jdl **out, char **err_out) OPUS_WUR;
int jdl_parse_wadl(const struct jdl_doc *doc, struct jdl **out, char **err_out) OPUS_WUR;

struct jdl *jdl_ref(struct jdl *j);
void jdl_unref(struct jdl *j); /* NULL ok */

/*
 * Writers (jdl_write.c): append the description to out, as an OPUS VOTable
 * that jdl_parse_buffer() reads back to the same struct (hash aside), or as
 * one JSON object for forms ("name", "parameters", "used", "generated", ...;
 * null where a field is absent). Return 0, or a negative OPUS_ERR_ code
 * (out->err when the buffer hit its cap).
 */
int jdl_write_xml(const struct jdl *j, struct sbuf *out) OPUS_WUR;
int jdl_write_json(const struct jdl *j, struct sbuf *out) OPUS_WUR;

/* Case-insensitive lookups; borrowed pointers, NULL when absent. */
const struct jdl_param *jdl_find_param(const struct jdl *j, const char *name);

/* Longest partition / account / gres value (of a description or a job). */
#define JDL_RESOURCE_MAX 64
/* Whether s may be a partition, account or gres: 1 to JDL_RESOURCE_MAX
 * characters of [A-Za-z0-9_.:,=-] (what the SLURM backend puts in #SBATCH
 * lines). */
bool jdl_resource_value_ok(const char *s);

/* The resources a job may ask for itself at creation (control parameters,
 * when [slurm] user_resources lists them), spelt as the PARAMs. */
#define JDL_NRESOURCES 6
extern const char *const jdl_resource_names[JDL_NRESOURCES];
/* The index in jdl_resource_names of name (case-insensitive), or -1. */
int jdl_resource_index(const char *name);
/* NULL when value suits resource `i` (a partition / account / gres string,
 * or a count of 1 to 100000 for nodes, tasksPerNode, cpusPerTask), else a
 * malloc'd reason. */
char *jdl_resource_check(int i, const char *value);
const struct jdl_entity *jdl_find_used(const struct jdl *j, const char *name);
const struct jdl_entity *jdl_find_generated(const struct jdl *j, const char *name);

/*
 * Checks a submitted value against the parameter's type (and, where declared,
 * MIN/MAX and OPTION list). Returns 0, or OPUS_ERR_INVAL with *why_out a
 * malloc'd plain-text reason such as "must be an integer" (caller frees).
 */
int jdl_check_value(const struct jdl_param *p, const char *value, char **why_out) OPUS_WUR;

/* Is this name refused as a parameter name (reserved or environment)? */
bool jdl_name_is_reserved(const char *name);

/*
 * The registry: the descriptions currently served, loaded from a directory:
 * every {name}.xml in it whose name is a safe name, then OPUS's layout below
 * it (votable/{name}_vot.xml, json/{name}.json, wadl/{name}.wadl; see
 * struct jdl_doc). When a name comes in several files, the first in that
 * order is the description and the others are ignored (logged at debug),
 * even when it fails to load. A document without a script takes
 * scripts/{name}.sh. A file that fails to load is logged with its reason and
 * skipped; the others load.
 * With a versions_dir (NULL: none), each load also keeps the exact source of
 * every description as versions_dir/{name}/{hash}.xml, so that a job can run
 * the version it was created with after a reload or a restart.
 */
struct jdl_registry;
struct jdl_registry *jdl_registry_new(const char *dir, const char *versions_dir);
void jdl_registry_free(struct jdl_registry *reg);
/* (Re)reads the directory and swaps the set in; returns the number loaded. */
int jdl_registry_load(struct jdl_registry *reg);
/* A new reference to the named description (case-sensitive), or NULL. */
struct jdl *jdl_registry_get(struct jdl_registry *reg, const char *name);
/*
 * A new reference to the version of `name` whose source has sha256 `hash`:
 * the current description, a superseded one still in memory, or the copy in
 * versions_dir (then kept in memory); NULL when none is available, when name
 * or hash is malformed, or when `name` is no longer served at all (a removed
 * description runs no more jobs). A NULL or empty hash means the current
 * description.
 */
struct jdl *jdl_registry_get_version(struct jdl_registry *reg, const char *name, const char *hash);
/* The sorted names currently loaded; caller frees the array and each string. */
char **jdl_registry_names(struct jdl_registry *reg, size_t *n_out);

#endif
