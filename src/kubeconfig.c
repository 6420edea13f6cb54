/* SPDX-License-Identifier: MIT */
#include "kubeconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "outside.h"
#include "util.h"
#include "yamlh.h"

#define KUBE_FILE_MAX (1024 * 1024)

/* ---- base64 ---- */

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
kubeconfig_base64_decode(char **out, size_t *len_out, const char *s, size_t len)
{
	char *data = xmalloc(len / 4 * 3 + 4);
	uint32_t acc = 0;
	size_t n = 0, bits = 0, i, pad = 0, chars = 0;

	*out = NULL;
	*len_out = 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;
		if (is_space(c)) {
			continue;
		}
		if (c == '=') {
			pad++;
			chars++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad > 0) {
			/* a character after padding, or outside the alphabet */
			secret_wipe(data, n);
			free(data);
			return -1;
		}
		chars++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			data[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	/* unpadded input is accepted, as Go's decoders for kubeconfig data are lenient enough */
	if (pad > 2 || (pad > 0 && chars % 4 != 0) || (chars - pad) % 4 == 1) {
		secret_wipe(data, n);
		free(data);
		return -1;
	}
	data[n] = '\0';
	*out = data;
	*len_out = n;
	return 0;
}

bool
kubeconfig_is_base64(const char *s, size_t len)
{
	size_t i, significant = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_space(c)) {
			continue;
		}
		if (b64_value(c) < 0 && c != '=') {
			return false;
		}
		significant++;
	}
	/* YAML always has a ':' somewhere; base64 never does */
	return significant >= 8;
}

/*
 * ---- the read-only YAML view (yamlh.h) ----
 * This file is the one owner of libyaml: other modules (the metrics input) read YAML through
 * these handles, and kubeconfig_parse below loads its document the same way.
 */

struct yamlh_doc {
	yaml_document_t yd;
};

int
yamlh_parse(struct yamlh_doc **out, const char *text, size_t len, size_t max, struct error *err)
{
	yaml_parser_t parser;
	struct yamlh_doc *d;
	int rc;

	if (len > max) {
		return error_set(err, ERR_CONFIG, "larger than %zu bytes", max);
	}
	if (!yaml_parser_initialize(&parser)) {
		abort();
	}
	d = xcalloc(1, sizeof(*d));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &d->yd)) {
		rc = error_set(err, ERR_CONFIG, "invalid YAML at line %zu: %s%s%s",
			       parser.problem_mark.line + 1,
			       parser.problem != NULL ? parser.problem : "syntax error",
			       parser.context != NULL ? " " : "",
			       parser.context != NULL ? parser.context : "");
		yaml_parser_delete(&parser);
		free(d);
		return rc;
	}
	yaml_parser_delete(&parser);
	*out = d;
	return 0;
}

void
yamlh_free(struct yamlh_doc *d)
{
	if (d == NULL) {
		return;
	}
	yaml_document_delete(&d->yd);
	free(d);
}

static yaml_node_t *
node(const struct yamlh_doc *d, int index)
{
	/* libyaml's getter takes a non-const document but only reads it */
	return index <= 0 ? NULL : yaml_document_get_node((yaml_document_t *)&d->yd, index);
}

int
yamlh_root(const struct yamlh_doc *d)
{
	return node(d, 1) != NULL ? 1 : 0;
}

enum yamlh_kind
yamlh_kind(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL) {
		return YAMLH_NONE;
	}
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return YAMLH_SCALAR;
	case YAML_SEQUENCE_NODE:
		return YAMLH_SEQUENCE;
	case YAML_MAPPING_NODE:
		return YAMLH_MAPPING;
	case YAML_NO_NODE:
	default:
		return YAMLH_NONE;
	}
}

size_t
yamlh_line(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);
	return n != NULL ? n->start_mark.line + 1 : 0;
}

const char *
yamlh_scalar(const struct yamlh_doc *d, int index, size_t *len_out)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		return NULL;
	}
	if (len_out != NULL) {
		*len_out = n->data.scalar.length;
	}
	return (const char *)n->data.scalar.value;
}

bool
yamlh_is_null(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);
	const char *v;

	if (n == NULL) {
		return true;
	}
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		return false;
	}
	v = (const char *)n->data.scalar.value;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

size_t
yamlh_length(const struct yamlh_doc *d, int index)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL) {
		return 0;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	}
	if (n->type == YAML_MAPPING_NODE) {
		return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
	}
	return 0;
}

int
yamlh_item(const struct yamlh_doc *d, int index, size_t i)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_SEQUENCE_NODE || i >= yamlh_length(d, index)) {
		return 0;
	}
	return n->data.sequence.items.start[i];
}

int
yamlh_key(const struct yamlh_doc *d, int index, size_t i)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_MAPPING_NODE || i >= yamlh_length(d, index)) {
		return 0;
	}
	return n->data.mapping.pairs.start[i].key;
}

int
yamlh_value(const struct yamlh_doc *d, int index, size_t i)
{
	const yaml_node_t *n = node(d, index);

	if (n == NULL || n->type != YAML_MAPPING_NODE || i >= yamlh_length(d, index)) {
		return 0;
	}
	return n->data.mapping.pairs.start[i].value;
}

/* ---- libyaml document helpers ---- */

struct doc {
	yaml_document_t *yd;
	struct error *err;
	const char *where; /* "kubeconfig" or "kubeconfig cluster 'x'" for messages */
};

static yaml_node_t *
node_at(const struct doc *d, int index)
{
	return yaml_document_get_node(d->yd, index);
}

static bool
scalar_is_null(const yaml_node_t *n)
{
	const char *v;

	if (n == NULL) {
		return true;
	}
	if (n->type != YAML_SCALAR_NODE) {
		return false;
	}
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		return n->data.scalar.length == 0;
	}
	v = (const char *)n->data.scalar.value;
	return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* the value node for key in a mapping node, or NULL */
static yaml_node_t *
map_get(const struct doc *d, const yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (map == NULL || map->type != YAML_MAPPING_NODE) {
		return NULL;
	}
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(d, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0) {
			return node_at(d, p->value);
		}
	}
	return NULL;
}

/*
 * *out = a copy of the scalar at key, or NULL when absent or null. Returns 0 or ERR_CONFIG when
 * the value is not a scalar or holds a NUL byte.
 */
static int
get_string(char **out, const struct doc *d, const yaml_node_t *map, const char *key)
{
	yaml_node_t *n = map_get(d, map, key);

	*out = NULL;
	if (scalar_is_null(n)) {
		return 0;
	}
	if (n->type != YAML_SCALAR_NODE) {
		return error_set(d->err, ERR_CONFIG, "%s: '%s' must be a single value", d->where, key);
	}
	if (memchr(n->data.scalar.value, '\0', n->data.scalar.length) != NULL) {
		return error_set(d->err, ERR_CONFIG, "%s: '%s' holds a NUL byte", d->where, key);
	}
	*out = xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
	return 0;
}

/* like get_string, but the value is a credential: masked before anything else happens */
static int
get_secret(char **out, const struct doc *d, const yaml_node_t *map, const char *key)
{
	int rc = get_string(out, d, map, key);

	if (rc == 0 && *out != NULL) {
		log_mask(*out);
	}
	return rc;
}

static int
get_bool(bool *out, const struct doc *d, const yaml_node_t *map, const char *key)
{
	char *v = NULL;
	int rc = get_string(&v, d, map, key);

	*out = false;
	if (rc < 0 || v == NULL) {
		return rc;
	}
	/* YAML 1.1 booleans, as Go's yaml.v2 reads kubeconfig files */
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0 ||
	    strcmp(v, "yes") == 0 || strcmp(v, "on") == 0) {
		*out = true;
	} else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0 ||
		   strcmp(v, "no") == 0 || strcmp(v, "off") == 0) {
		*out = false;
	} else {
		rc = error_set(d->err, ERR_CONFIG, "%s: '%s' must be true or false", d->where, key);
	}
	free(v);
	return rc;
}

/* masks a PEM private key line by line, leaving out the BEGIN/END lines every key shares */
static void
mask_pem(const char *pem, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		while (j < len && pem[j] != '\n' && pem[j] != '\r') {
			j++;
		}
		if (j - i >= 8 && strncmp(pem + i, "-----", 5) != 0) {
			char *line = xstrndup(pem + i, j - i);
			log_mask(line);
			secret_free(line);
		}
		i = j + 1;
	}
}

/* base64 data at key (a -data field), decoded; secret: the text and the result are masked */
static int
get_data(char **out, size_t *len_out, const struct doc *d, const yaml_node_t *map, const char *key,
	 bool secret)
{
	char *text = NULL;
	int rc;

	*out = NULL;
	*len_out = 0;
	rc = secret ? get_secret(&text, d, map, key) : get_string(&text, d, map, key);
	if (rc < 0 || text == NULL) {
		return rc;
	}
	if (kubeconfig_base64_decode(out, len_out, text, strlen(text)) < 0) {
		rc = error_set(d->err, ERR_CONFIG, "%s: '%s' is not valid base64", d->where, key);
	} else if (secret) {
		mask_pem(*out, *len_out);
	}
	if (secret) {
		secret_free(text);
	} else {
		free(text);
	}
	return rc;
}

static char *
resolve_path(const char *path, const char *dir)
{
	if (path == NULL) {
		return NULL;
	}
	if (path[0] == '/' || dir == NULL || dir[0] == '\0') {
		return xstrdup(path);
	}
	return xasprintf("%s/%s", dir, path);
}

static int
get_path(char **out, const struct doc *d, const yaml_node_t *map, const char *key, const char *dir)
{
	char *v = NULL;
	int rc = get_string(&v, d, map, key);

	*out = NULL;
	if (rc == 0 && v != NULL) {
		*out = resolve_path(v, dir);
	}
	free(v);
	return rc;
}

/* ---- entries ---- */

static void
cluster_dispose(struct kubeconfig_cluster *c)
{
	free(c->name);
	free(c->server);
	free(c->ca_path);
	free(c->ca_data);
	free(c->tls_server_name);
	free(c->proxy_url);
	memset(c, 0, sizeof(*c));
}

static void
user_dispose(struct kubeconfig_user *u)
{
	free(u->name);
	secret_free(u->token);
	free(u->token_path);
	free(u->cert_path);
	free(u->cert_data);
	free(u->key_path);
	if (u->key_data != NULL) {
		secret_wipe(u->key_data, u->key_len);
		free(u->key_data);
	}
	free(u->username);
	secret_free(u->password);
	free(u->exec_command);
	free(u->auth_provider);
	memset(u, 0, sizeof(*u));
}

static void
context_dispose(struct kubeconfig_context *c)
{
	free(c->name);
	free(c->cluster);
	free(c->user);
	free(c->namespace);
	memset(c, 0, sizeof(*c));
}

void
kubeconfig_dispose(struct kubeconfig *kc)
{
	size_t i;

	if (kc == NULL) {
		return;
	}
	for (i = 0; i < kc->n_clusters; i++) {
		cluster_dispose(&kc->clusters[i]);
	}
	for (i = 0; i < kc->n_users; i++) {
		user_dispose(&kc->users[i]);
	}
	for (i = 0; i < kc->n_contexts; i++) {
		context_dispose(&kc->contexts[i]);
	}
	free(kc->clusters);
	free(kc->users);
	free(kc->contexts);
	free(kc->current_context);
	memset(kc, 0, sizeof(*kc));
}

static const struct kubeconfig_cluster *
find_cluster(const struct kubeconfig *kc, const char *name)
{
	size_t i;

	for (i = 0; i < kc->n_clusters; i++) {
		if (strcmp(kc->clusters[i].name, name) == 0) {
			return &kc->clusters[i];
		}
	}
	return NULL;
}

static const struct kubeconfig_user *
find_user(const struct kubeconfig *kc, const char *name)
{
	size_t i;

	for (i = 0; i < kc->n_users; i++) {
		if (strcmp(kc->users[i].name, name) == 0) {
			return &kc->users[i];
		}
	}
	return NULL;
}

static const struct kubeconfig_context *
find_context(const struct kubeconfig *kc, const char *name)
{
	size_t i;

	for (i = 0; i < kc->n_contexts; i++) {
		if (strcmp(kc->contexts[i].name, name) == 0) {
			return &kc->contexts[i];
		}
	}
	return NULL;
}

/* a "name" scalar and the named inner mapping of a list entry; *inner may be NULL (empty entry) */
static int
entry_name(char **name_out, yaml_node_t **inner_out, const struct doc *d, const yaml_node_t *entry,
	   const char *section, const char *inner_key, size_t index)
{
	struct doc named = *d;
	char where[64];
	yaml_node_t *inner;

	*name_out = NULL;
	*inner_out = NULL;
	(void)snprintf(where, sizeof(where), "%s[%zu]", section, index);
	named.where = where;
	if (entry == NULL || entry->type != YAML_MAPPING_NODE) {
		return error_set(d->err, ERR_CONFIG, "%s: expected an entry with 'name' and '%s'", where, inner_key);
	}
	if (get_string(name_out, &named, entry, "name") < 0) {
		return ERR_CONFIG;
	}
	if (*name_out == NULL) {
		return error_set(d->err, ERR_CONFIG, "%s has no name", where);
	}
	inner = map_get(d, entry, inner_key);
	if (!scalar_is_null(inner) && inner->type != YAML_MAPPING_NODE) {
		return error_set(d->err, ERR_CONFIG, "%s '%s': '%s' must be a mapping", section, *name_out, inner_key);
	}
	*inner_out = scalar_is_null(inner) ? NULL : inner;
	return 0;
}

/*
 * "cluster 'name'" for messages: a name in the kubeconfig is quoted as outside text (outside.h),
 * bounded and on one line
 */
static void
label(char *out, size_t size, const char *kind, const char *name)
{
	char *clean = outside_line(name != NULL ? name : "", name != NULL ? strlen(name) : 0, 200);

	(void)snprintf(out, size, "%s '%s'", kind, clean);
	free(clean);
}

static int
parse_cluster(struct kubeconfig_cluster *c, const struct doc *d0, const yaml_node_t *m, const char *dir)
{
	char where[320];
	struct doc d = *d0;

	label(where, sizeof(where), "cluster", c->name);
	d.where = where;
	if (m == NULL) {
		return 0;
	}
	if (get_string(&c->server, &d, m, "server") < 0 || get_path(&c->ca_path, &d, m, "certificate-authority", dir) < 0 ||
	    get_data(&c->ca_data, &c->ca_len, &d, m, "certificate-authority-data", false) < 0 ||
	    get_bool(&c->insecure, &d, m, "insecure-skip-tls-verify") < 0 ||
	    get_string(&c->tls_server_name, &d, m, "tls-server-name") < 0 ||
	    get_string(&c->proxy_url, &d, m, "proxy-url") < 0) {
		return ERR_CONFIG;
	}
	return 0;
}

static int
parse_user(struct kubeconfig_user *u, const struct doc *d0, const yaml_node_t *m, const char *dir)
{
	char where[320];
	struct doc d = *d0;
	yaml_node_t *n;

	label(where, sizeof(where), "user", u->name);
	d.where = where;
	if (m == NULL) {
		return 0;
	}
	/* credentials first, so they are masked before any later error could quote the document */
	if (get_secret(&u->token, &d, m, "token") < 0 || get_secret(&u->password, &d, m, "password") < 0 ||
	    get_data(&u->key_data, &u->key_len, &d, m, "client-key-data", true) < 0) {
		return ERR_CONFIG;
	}
	if (get_path(&u->token_path, &d, m, "tokenFile", dir) < 0 ||
	    get_path(&u->cert_path, &d, m, "client-certificate", dir) < 0 ||
	    get_data(&u->cert_data, &u->cert_len, &d, m, "client-certificate-data", false) < 0 ||
	    get_path(&u->key_path, &d, m, "client-key", dir) < 0 || get_string(&u->username, &d, m, "username") < 0) {
		return ERR_CONFIG;
	}
	n = map_get(&d, m, "exec");
	if (!scalar_is_null(n)) {
		char *cmd = NULL;
		if (n->type == YAML_MAPPING_NODE && get_string(&cmd, &d, n, "command") < 0) {
			return ERR_CONFIG;
		}
		u->exec_command = cmd != NULL ? cmd : xstrdup("");
	}
	n = map_get(&d, m, "auth-provider");
	if (!scalar_is_null(n)) {
		char *name = NULL;
		if (n->type == YAML_MAPPING_NODE && get_string(&name, &d, n, "name") < 0) {
			return ERR_CONFIG;
		}
		u->auth_provider = name != NULL ? name : xstrdup("");
	}
	return 0;
}

static int
parse_context(struct kubeconfig_context *c, const struct doc *d0, const yaml_node_t *m)
{
	char where[320];
	struct doc d = *d0;

	label(where, sizeof(where), "context", c->name);
	d.where = where;
	if (m == NULL) {
		return 0;
	}
	if (get_string(&c->cluster, &d, m, "cluster") < 0 || get_string(&c->user, &d, m, "user") < 0 ||
	    get_string(&c->namespace, &d, m, "namespace") < 0) {
		return ERR_CONFIG;
	}
	return 0;
}

enum section {
	SECTION_CLUSTERS,
	SECTION_USERS,
	SECTION_CONTEXTS,
};

static int
parse_section(struct kubeconfig *kc, const struct doc *d, const yaml_node_t *root, enum section s,
	      const char *dir)
{
	static const char *const keys[] = { "clusters", "users", "contexts" };
	static const char *const inner_keys[] = { "cluster", "user", "context" };
	yaml_node_t *seq = map_get(d, root, keys[s]);
	yaml_node_item_t *it;
	size_t index = 0;
	int rc = 0;

	if (scalar_is_null(seq)) {
		return 0;
	}
	if (seq->type != YAML_SEQUENCE_NODE) {
		return error_set(d->err, ERR_CONFIG, "'%s' must be a list", keys[s]);
	}
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, index++) {
		yaml_node_t *inner = NULL;
		char *name = NULL;
		rc = entry_name(&name, &inner, d, node_at(d, *it), keys[s], inner_keys[s], index);
		if (rc < 0) {
			free(name);
			return rc;
		}
		switch (s) {
		case SECTION_CLUSTERS: {
			struct kubeconfig_cluster c;
			memset(&c, 0, sizeof(c));
			c.name = name;
			rc = parse_cluster(&c, d, inner, dir);
			if (rc < 0 || find_cluster(kc, name) != NULL) {
				cluster_dispose(&c);
				break;
			}
			kc->clusters = xrealloc(kc->clusters, (kc->n_clusters + 1) * sizeof(c));
			kc->clusters[kc->n_clusters++] = c;
			break;
		}
		case SECTION_USERS: {
			struct kubeconfig_user u;
			memset(&u, 0, sizeof(u));
			u.name = name;
			rc = parse_user(&u, d, inner, dir);
			if (rc < 0 || find_user(kc, name) != NULL) {
				user_dispose(&u);
				break;
			}
			kc->users = xrealloc(kc->users, (kc->n_users + 1) * sizeof(u));
			kc->users[kc->n_users++] = u;
			break;
		}
		case SECTION_CONTEXTS:
		default: {
			struct kubeconfig_context c;
			memset(&c, 0, sizeof(c));
			c.name = name;
			rc = parse_context(&c, d, inner);
			if (rc < 0 || find_context(kc, name) != NULL) {
				context_dispose(&c);
				break;
			}
			kc->contexts = xrealloc(kc->contexts, (kc->n_contexts + 1) * sizeof(c));
			kc->contexts[kc->n_contexts++] = c;
			break;
		}
		}
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int
kubeconfig_parse(struct kubeconfig *kc, const char *yaml, size_t len, const char *dir, struct error *err)
{
	struct yamlh_doc *yd = NULL;
	yaml_node_t *root;
	struct doc d;
	char *current = NULL;
	int rc;

	rc = yamlh_parse(&yd, yaml, len, KUBECONFIG_MAX_BYTES, err);
	if (rc < 0) {
		return rc;
	}
	d.yd = &yd->yd;
	d.err = err;
	d.where = "document";
	root = yaml_document_get_root_node(&yd->yd);
	if (root == NULL || scalar_is_null(root)) {
		rc = error_set(err, ERR_CONFIG, "the document is empty");
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		rc = error_set(err, ERR_CONFIG, "expected a mapping with clusters, users and contexts");
		goto out;
	}
	/* users first: their credentials are masked before anything else is looked at */
	rc = parse_section(kc, &d, root, SECTION_USERS, dir);
	if (rc == 0) {
		rc = parse_section(kc, &d, root, SECTION_CLUSTERS, dir);
	}
	if (rc == 0) {
		rc = parse_section(kc, &d, root, SECTION_CONTEXTS, dir);
	}
	if (rc == 0) {
		rc = get_string(&current, &d, root, "current-context");
	}
	if (rc == 0 && kc->current_context == NULL && current != NULL && current[0] != '\0') {
		kc->current_context = current;
		current = NULL;
	}
out:
	free(current);
	yamlh_free(yd);
	return rc;
}

/* ---- resolving one context ---- */

void
kube_target_dispose(struct kube_target *t)
{
	if (t == NULL) {
		return;
	}
	free(t->source);
	free(t->context);
	free(t->user);
	free(t->server);
	free(t->namespace);
	secret_free(t->token);
	free(t->username);
	secret_free(t->password);
	free(t->ca_pem);
	free(t->cert_pem);
	if (t->key_pem != NULL) {
		secret_wipe(t->key_pem, t->key_len);
		free(t->key_pem);
	}
	free(t->tls_server_name);
	free(t->proxy_url);
	memset(t, 0, sizeof(*t));
}

static int
read_file(char **out, size_t *len_out, const char *path, const char *what, const char *owner, struct error *err)
{
	size_t len = 0;
	char *data = file_read(path, KUBE_FILE_MAX, &len);

	if (data == NULL) {
		return error_set(err, ERR_CONFIG, "%s: cannot read %s %s: %s", owner, what, path, strerror(errno));
	}
	*out = data;
	if (len_out != NULL) {
		*len_out = len;
	}
	return 0;
}

/* a token read from a file: trailing whitespace trimmed, masked at once */
static int
read_token(char **out, const char *path, const char *owner, struct error *err)
{
	char *data = NULL;
	size_t len = 0;

	if (read_file(&data, &len, path, "token file", owner, err) < 0) {
		return ERR_CONFIG;
	}
	while (len > 0 && is_space((unsigned char)data[len - 1])) {
		data[--len] = '\0';
	}
	if (len == 0) {
		free(data);
		return error_set(err, ERR_CONFIG, "%s: token file %s is empty", owner, path);
	}
	log_mask(data);
	if (strlen(data) != len || !header_value_ok(data)) {
		secret_free(data);
		return error_set(err, ERR_CONFIG, "%s: token file %s holds control characters (a line break inside the token?); "
				 "it would go into an Authorization header", owner, path);
	}
	*out = data;
	return 0;
}

static char *
context_names(const struct kubeconfig *kc)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < kc->n_contexts && i < 20; i++) {
		buf_printf(&b, "%s'%s'", i > 0 ? ", " : "", kc->contexts[i].name);
	}
	if (kc->n_contexts > 20) {
		buf_printf(&b, " and %zu more", kc->n_contexts - 20);
	}
	if (kc->n_contexts == 0) {
		buf_puts(&b, "none");
	}
	return buf_steal(&b);
}

static int
normalise_server(char **out, const char *server, const char *owner, struct error *err)
{
	struct http_url u;
	struct error perr = ERROR_INIT;
	char *s;
	size_t n;
	int rc = 0;

	if (server == NULL || server[0] == '\0') {
		return error_set(err, ERR_CONFIG, "%s has no server", owner);
	}
	if (strpbrk(server, " \t\r\n?#") != NULL) {
		return error_set(err, ERR_CONFIG, "%s: server '%s' is not a valid URL", owner, server);
	}
	/* client-go defaults a bare host[:port] to https */
	s = strstr(server, "://") != NULL ? xstrdup(server) : xasprintf("https://%s", server);
	if (http_url_parse(&u, s, &perr) < 0) {
		rc = error_set(err, ERR_CONFIG, "%s: server '%s' must be an http:// or https:// URL", owner, server);
		goto out;
	}
	if (u.userinfo != NULL) {
		rc = error_set(err, ERR_CONFIG, "%s: server URL must not carry credentials (use the user's entry)", owner);
		goto out;
	}
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/') {
		s[--n] = '\0';
	}
	*out = s;
	s = NULL; /* now owned by the caller */
out:
	free(s);
	http_url_dispose(&u);
	return rc;
}

/*
 * proxy-url: http, https or socks5 as client-go accepts; it replaces HTTPS_PROXY for this cluster.
 * Credentials in it are masked, since the log names the proxy.
 */
static int
check_proxy_url(char **out, const char *proxy, const char *owner, struct error *err)
{
	struct http_url u;
	struct error perr = ERROR_INIT;
	int rc = 0;

	if (str_has_prefix(proxy, "socks5://") || str_has_prefix(proxy, "socks5h://")) {
		if (strpbrk(proxy, " \t\r\n") != NULL) {
			return error_set(err, ERR_CONFIG, "%s: proxy-url is not a valid URL", owner);
		}
		if (strchr(proxy, '@') != NULL) {
			log_mask(proxy);
		}
		*out = xstrdup(proxy);
		return 0;
	}
	if (http_url_parse(&u, proxy, &perr) < 0) {
		rc = error_set(err, ERR_CONFIG, "%s: proxy-url must be an http://, https:// or socks5:// URL", owner);
		goto out;
	}
	if (u.userinfo != NULL) {
		/* libcurl sends it as "Proxy-Authorization: Basic base64(user:password)": mask that too */
		char *colon = strchr(u.userinfo, ':');
		char *user = colon != NULL ? xstrndup(u.userinfo, (size_t)(colon - u.userinfo)) : xstrdup(u.userinfo);
		log_mask(u.userinfo);
		log_mask_basic(user, colon != NULL ? colon + 1 : "");
		secret_free(user);
	}
	*out = xstrdup(proxy);
out:
	http_url_dispose(&u);
	return rc;
}

static int
resolve_user(struct kube_target *out, const struct kubeconfig_user *u, struct error *err)
{
	char owner[320];

	label(owner, sizeof(owner), "user", u->name);
	if (u->exec_command != NULL) {
		return error_set(err, ERR_CONFIG,
				 "%s authenticates with an exec credential plugin%s%s%s, which cannot run inside the action's "
				 "container: pass a token in the kube-token input (for example from `aws eks get-token`) or set "
				 "kube-oidc-audience for GitHub OIDC, or give that user a token or a client certificate",
				 owner, u->exec_command[0] != '\0' ? " ('" : "", u->exec_command,
				 u->exec_command[0] != '\0' ? "')" : "");
	}
	if (u->auth_provider != NULL) {
		return error_set(err, ERR_CONFIG,
				 "%s authenticates with the %s%s%sauth-provider plugin, which cannot run inside the action's "
				 "container: pass a token in the kube-token input or set kube-oidc-audience for GitHub OIDC, or "
				 "give that user a token or a client certificate",
				 owner, u->auth_provider[0] != '\0' ? "'" : "", u->auth_provider,
				 u->auth_provider[0] != '\0' ? "' " : "");
	}
	/* token wins over tokenFile (client-go) */
	if (u->token != NULL) {
		if (!header_value_ok(u->token)) {
			return error_set(err, ERR_CONFIG, "%s: its token holds control characters (a line break inside the token?); "
					 "it would go into an Authorization header", owner);
		}
		out->token = xstrdup(u->token);
	} else if (u->token_path != NULL) {
		if (read_token(&out->token, u->token_path, owner, err) < 0) {
			return ERR_CONFIG;
		}
	}
	if (u->cert_data != NULL) {
		out->cert_pem = xstrndup(u->cert_data, u->cert_len);
		out->cert_len = u->cert_len;
	} else if (u->cert_path != NULL) {
		if (read_file(&out->cert_pem, &out->cert_len, u->cert_path, "client-certificate", owner, err) < 0) {
			return ERR_CONFIG;
		}
	}
	if (u->key_data != NULL) {
		out->key_pem = xmalloc(u->key_len + 1);
		memcpy(out->key_pem, u->key_data, u->key_len);
		out->key_pem[u->key_len] = '\0';
		out->key_len = u->key_len;
	} else if (u->key_path != NULL) {
		if (read_file(&out->key_pem, &out->key_len, u->key_path, "client-key", owner, err) < 0) {
			return ERR_CONFIG;
		}
		mask_pem(out->key_pem, out->key_len);
	}
	if ((out->cert_pem != NULL) != (out->key_pem != NULL)) {
		return error_set(err, ERR_CONFIG, "%s has a client %s but no client %s", owner,
				 out->cert_pem != NULL ? "certificate" : "key", out->cert_pem != NULL ? "key" : "certificate");
	}
	if (u->username != NULL) {
		out->username = xstrdup(u->username);
		out->password = xstrdup(u->password != NULL ? u->password : "");
		/* sent as "Authorization: Basic base64(user:password)": a server may echo that form */
		log_mask_basic(out->username, out->password);
	}
	return 0;
}

/*
 * override: the kube-token or kube-oidc-audience input replaces the user's credentials, so they
 * are not read at all (an exec plugin's command, a token file of another machine)
 */
static int
resolve_context(struct kube_target *out, const struct kubeconfig *kc, const char *context, const char *namespace,
		bool override, struct error *err)
{
	const struct kubeconfig_context *ctx;
	const struct kubeconfig_cluster *cl;
	char owner[320];
	char *names;
	int rc;

	if (context == NULL || context[0] == '\0') {
		context = kc->current_context;
	}
	if (context == NULL) {
		names = context_names(kc);
		rc = error_set(err, ERR_CONFIG,
			       "no context selected: current-context is not set and the kube-context input is empty "
			       "(contexts: %s)", names);
		free(names);
		return rc;
	}
	ctx = find_context(kc, context);
	if (ctx == NULL) {
		names = context_names(kc);
		rc = error_set(err, ERR_CONFIG, "context '%s' not found (contexts: %s)", context, names);
		free(names);
		return rc;
	}
	label(owner, sizeof(owner), "context", ctx->name);
	if (ctx->cluster == NULL) {
		return error_set(err, ERR_CONFIG, "%s names no cluster", owner);
	}
	cl = find_cluster(kc, ctx->cluster);
	if (cl == NULL) {
		return error_set(err, ERR_CONFIG, "%s: cluster '%s' not found", owner, ctx->cluster);
	}
	out->context = xstrdup(ctx->name);
	label(owner, sizeof(owner), "cluster", cl->name);
	if (normalise_server(&out->server, cl->server, owner, err) < 0) {
		return ERR_CONFIG;
	}
	if (cl->ca_data != NULL) {
		/* certificate-authority-data overrides the path */
		out->ca_pem = xstrndup(cl->ca_data, cl->ca_len);
		out->ca_len = cl->ca_len;
	} else if (cl->ca_path != NULL) {
		if (read_file(&out->ca_pem, &out->ca_len, cl->ca_path, "certificate-authority", owner, err) < 0) {
			return ERR_CONFIG;
		}
	}
	if (cl->insecure && out->ca_pem != NULL) {
		/* client-go refuses this combination too */
		return error_set(err, ERR_CONFIG,
				 "%s: certificate-authority and insecure-skip-tls-verify cannot both be set", owner);
	}
	out->insecure = cl->insecure;
	out->tls_server_name = cl->tls_server_name != NULL ? xstrdup(cl->tls_server_name) : NULL;
	if (cl->proxy_url != NULL && cl->proxy_url[0] != '\0' &&
	    check_proxy_url(&out->proxy_url, cl->proxy_url, owner, err) < 0) {
		return ERR_CONFIG;
	}
	if (ctx->user != NULL && ctx->user[0] != '\0') {
		const struct kubeconfig_user *u = find_user(kc, ctx->user);
		if (u == NULL) {
			return error_set(err, ERR_CONFIG, "context '%s': user '%s' not found", ctx->name, ctx->user);
		}
		out->user = xstrdup(u->name);
		if (!override && resolve_user(out, u, err) < 0) {
			return ERR_CONFIG;
		}
	}
	if (namespace != NULL && namespace[0] != '\0') {
		out->namespace = xstrdup(namespace);
	} else if (ctx->namespace != NULL && ctx->namespace[0] != '\0') {
		out->namespace = xstrdup(ctx->namespace);
	} else {
		out->namespace = xstrdup("default");
	}
	return 0;
}

int
kubeconfig_resolve(struct kube_target *out, const struct kubeconfig *kc, const char *context,
		   const char *namespace, struct error *err)
{
	return resolve_context(out, kc, context, namespace, false, err);
}

/* ---- loading ---- */

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		return xstrdup(".");
	}
	if (slash == path) {
		return xstrdup("/");
	}
	return xstrndup(path, (size_t)(slash - path));
}

static int
load_input(struct kubeconfig *kc, const char *text, struct error *err)
{
	size_t len = strlen(text);
	char *decoded = NULL;
	size_t dlen = 0;
	int rc;

	if (kubeconfig_is_base64(text, len)) {
		/* the encoded form is as secret as the token inside it */
		log_mask(text);
		if (kubeconfig_base64_decode(&decoded, &dlen, text, len) < 0) {
			return error_set(err, ERR_CONFIG, "invalid input 'kubeconfig': neither YAML nor valid base64");
		}
		if (memchr(decoded, '\0', dlen) != NULL) {
			secret_wipe(decoded, dlen);
			free(decoded);
			return error_set(err, ERR_CONFIG, "invalid input 'kubeconfig': the base64 content is not a kubeconfig file");
		}
		rc = kubeconfig_parse(kc, decoded, dlen, NULL, err);
		secret_wipe(decoded, dlen);
		free(decoded);
		if (rc < 0) {
			error_prefix(err, "invalid input 'kubeconfig' (base64): ");
		}
		return rc;
	}
	rc = kubeconfig_parse(kc, text, len, NULL, err);
	if (rc < 0) {
		error_prefix(err, "invalid input 'kubeconfig': ");
	}
	return rc;
}

/* rest of path below dir ("" or "/..."), or NULL when path is not inside dir */
static const char *
path_below(const char *path, const char *dir)
{
	size_t n;

	if (dir == NULL || dir[0] != '/') {
		return NULL;
	}
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/') {
		n--;
	}
	if (strncmp(path, dir, n) != 0 || (path[n] != '/' && path[n] != '\0')) {
		return NULL;
	}
	return path + n;
}

/*
 * An earlier step wrote KUBECONFIG as a host path ($RUNNER_TEMP/kubeconfig_<n> of the runner, or a
 * file in the workspace); the runner mounts those two directories elsewhere in the action's
 * container (/github/runner_temp, /github/workspace) and passes their container paths as
 * RUNNER_TEMP and GITHUB_WORKSPACE. The host paths come from RUNNER_WORKSPACE (the host's
 * <work>/<repository name>): the runner keeps its temp directory at <work>/_temp and the workspace
 * at <work>/<name>/<name>. Only paths inside those two host directories are translated, and only
 * to the same relative path inside the mount, so no unrelated file is ever read. Returns the path
 * to read (caller frees); *mapped tells whether it was translated.
 */
static char *
container_path(const struct run_context *c, const char *path, bool *mapped)
{
	char *work = NULL, *host_temp = NULL, *host_ws = NULL, *out = NULL;
	const char *rest, *name;

	*mapped = false;
	if (c->runner_workspace != NULL && c->runner_workspace[0] == '/') {
		work = dir_of(c->runner_workspace);
		host_temp = xasprintf("%s/_temp", strcmp(work, "/") == 0 ? "" : work);
		name = strrchr(c->runner_workspace, '/') + 1;
		if (name[0] != '\0') {
			host_ws = xasprintf("%s/%s", c->runner_workspace, name);
		}
	} else if (c->github_actions && path[0] == '/') {
		/*
		 * no RUNNER_WORKSPACE (a runner or an emulator that does not pass it): the same layout read
		 * off the path itself, <work>/_temp/… or <work>/<name>/<name>/… with <name> the repository's
		 */
		const char *t = strstr(path, "/_temp/");
		const char *slash = c->repository != NULL ? strchr(c->repository, '/') : NULL;
		if (t != NULL) {
			host_temp = xasprintf("%.*s", (int)(t - path) + 6, path);
		}
		if (slash != NULL && slash[1] != '\0' && strchr(slash + 1, '/') == NULL) {
			char *pair = xasprintf("/%s/%s/", slash + 1, slash + 1);
			const char *w = strstr(path, pair);
			if (w != NULL) {
				host_ws = xasprintf("%.*s", (int)(w - path + strlen(pair) - 1), path);
			}
			free(pair);
		}
	}
	rest = path_below(path, host_temp);
	if (rest != NULL && c->runner_temp != NULL && path_below(path, c->runner_temp) == NULL) {
		out = xasprintf("%s%s", c->runner_temp, rest);
		*mapped = true;
		goto done;
	}
	rest = path_below(path, host_ws);
	if (rest != NULL && c->workspace != NULL && path_below(path, c->workspace) == NULL) {
		out = xasprintf("%s%s", c->workspace, rest);
		*mapped = true;
		goto done;
	}
	out = xstrdup(path);
done:
	free(work);
	free(host_temp);
	free(host_ws);
	return out;
}

static int
load_files(struct kubeconfig *kc, const struct run_context *c, const char *list, char **source_out,
	   struct error *err)
{
	char *copy = xstrdup(list);
	char *save = NULL, *path, *host_path;
	struct buf used = BUF_INIT;
	size_t n_read = 0, n_missing = 0;
	int rc = 0;

	for (host_path = strtok_r(copy, ":", &save); host_path != NULL; host_path = strtok_r(NULL, ":", &save)) {
		size_t len = 0;
		bool mapped;
		char *data, *dir;

		path = container_path(c, host_path, &mapped);
		if (mapped) {
			log_info("KUBECONFIG: %s is a path on the runner; reading it as %s inside the container", host_path,
				 path);
		}
		data = file_read(path, KUBECONFIG_MAX_BYTES, &len);
		if (data == NULL) {
			if (errno == ENOENT) {
				/* kubectl skips files of KUBECONFIG that do not exist */
				log_debug("KUBECONFIG: %s does not exist", path);
				n_missing++;
				free(path);
				continue;
			}
			rc = error_set(err, ERR_CONFIG, "KUBECONFIG: cannot read %s: %s", path, strerror(errno));
			free(path);
			goto out;
		}
		dir = dir_of(path);
		rc = kubeconfig_parse(kc, data, len, dir, err);
		free(dir);
		secret_wipe(data, len);
		free(data);
		if (rc < 0) {
			error_prefix(err, "KUBECONFIG file %s: ", path);
			free(path);
			goto out;
		}
		buf_printf(&used, "%s%s", n_read > 0 ? ", " : "", path);
		n_read++;
		free(path);
	}
	if (n_read == 0 && n_missing > 0 && c->github_actions) {
		rc = error_set(err, ERR_CONFIG,
			       "KUBECONFIG=%s names no file visible inside the action's container: the runner mounts only "
			       "its temp directory (RUNNER_TEMP) and the workspace there; write the kubeconfig under "
			       "$RUNNER_TEMP or the workspace, or pass its content in the kubeconfig input", list);
		goto out;
	}
	if (n_read == 0) {
		rc = error_set(err, ERR_CONFIG, "KUBECONFIG=%s names no readable file", list);
		goto out;
	}
	*source_out = xasprintf("the kubeconfig file%s %s (KUBECONFIG)", n_read > 1 ? "s" : "", buf_str(&used));
out:
	buf_dispose(&used);
	free(copy);
	return rc;
}

static int
load_in_cluster(struct kube_target *out, const struct config *cfg, struct error *err)
{
	const struct run_context *c = &cfg->ctx;
	const char *dir = c->sa_dir != NULL ? c->sa_dir : KUBE_SA_DIR;
	char *path = NULL, *ns = NULL;
	const char *owner = "the in-cluster service account";
	size_t len = 0;
	int rc = 0;

	out->source = xasprintf("the in-cluster service account (%s)", dir);
	if (strchr(c->k8s_service_host, ':') != NULL) {
		out->server = xasprintf("https://[%s]:%s", c->k8s_service_host, c->k8s_service_port);
	} else {
		out->server = xasprintf("https://%s:%s", c->k8s_service_host, c->k8s_service_port);
	}
	path = xasprintf("%s/token", dir);
	if (read_token(&out->token, path, owner, err) < 0) {
		/* running in a pod without a mounted token is "nothing configured", not a broken file */
		rc = ERR_NOT_FOUND;
		err->code = ERR_NOT_FOUND;
		goto out;
	}
	free(path);
	path = xasprintf("%s/ca.crt", dir);
	if (read_file(&out->ca_pem, &out->ca_len, path, "CA bundle", owner, err) < 0) {
		rc = ERR_CONFIG;
		goto out;
	}
	if (cfg->namespace != NULL && cfg->namespace[0] != '\0') {
		out->namespace = xstrdup(cfg->namespace);
	} else {
		free(path);
		path = xasprintf("%s/namespace", dir);
		ns = file_read(path, 256, &len);
		while (ns != NULL && len > 0 && is_space((unsigned char)ns[len - 1])) {
			ns[--len] = '\0';
		}
		out->namespace = xstrdup(ns != NULL && ns[0] != '\0' ? ns : "default");
	}
out:
	free(ns);
	free(path);
	return rc;
}

/* kube-server with kube-ca and a token input: no kubeconfig at all */
static int
load_server(struct kube_target *out, const struct config *cfg, struct error *err)
{
	if (normalise_server(&out->server, cfg->kube_server, "input 'kube-server'", err) < 0) {
		error_prefix(err, "invalid input 'kube-server': ");
		return ERR_CONFIG;
	}
	if (cfg->kube_ca.data != NULL) {
		out->ca_pem = xstrndup(cfg->kube_ca.data, cfg->kube_ca.len);
		out->ca_len = cfg->kube_ca.len;
	}
	out->source = xstrdup("the kube-server input");
	out->namespace = xstrdup(cfg->namespace != NULL && cfg->namespace[0] != '\0' ? cfg->namespace : "default");
	return 0;
}

/*
 * Precedence of the bearer token: kube-oidc-audience (requested later, by the rollback's
 * preflight), then kube-token, then the kubeconfig user's own credentials, which an override
 * drops entirely: a client certificate or basic auth beside the token would be a second identity.
 */
static void
apply_token_override(struct kube_target *out, const struct config *cfg)
{
	char *source;

	if (cfg->kube_oidc_audience == NULL && cfg->kube_token == NULL) {
		return;
	}
	secret_free(out->token);
	out->token = NULL;
	free(out->username);
	out->username = NULL;
	secret_free(out->password);
	out->password = NULL;
	free(out->cert_pem);
	out->cert_pem = NULL;
	out->cert_len = 0;
	if (out->key_pem != NULL) {
		secret_wipe(out->key_pem, out->key_len);
		free(out->key_pem);
		out->key_pem = NULL;
		out->key_len = 0;
	}
	if (cfg->kube_oidc_audience != NULL) {
		out->oidc_pending = true;
		source = xasprintf("%s, token from GitHub OIDC (kube-oidc-audience)", out->source);
	} else {
		out->token = xstrdup(cfg->kube_token);
		source = xasprintf("%s, token from the kube-token input", out->source);
	}
	free(out->source);
	out->source = source;
}

int
kubeconfig_load(struct kube_target *out, const struct config *cfg, struct error *err)
{
	struct kubeconfig kc = KUBECONFIG_INIT;
	const struct run_context *c = &cfg->ctx;
	bool override = cfg->kube_token != NULL || cfg->kube_oidc_audience != NULL;
	char *source = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (cfg->kube_server != NULL) {
		rc = load_server(out, cfg, err);
		if (rc == 0) {
			apply_token_override(out, cfg);
		}
		return rc;
	}
	if (cfg->kubeconfig != NULL) {
		rc = load_input(&kc, cfg->kubeconfig, err);
		source = xstrdup("the kubeconfig input");
	} else if (c->kubeconfig_path != NULL) {
		rc = load_files(&kc, c, c->kubeconfig_path, &source, err);
		if (source == NULL) {
			source = xasprintf("KUBECONFIG=%s", c->kubeconfig_path);
		}
	} else if (c->k8s_service_host != NULL && c->k8s_service_port != NULL) {
		if (cfg->kube_context != NULL && cfg->kube_context[0] != '\0') {
			return error_set(err, ERR_CONFIG,
					 "invalid input 'kube-context': '%s' was given, but there is no kubeconfig (neither "
					 "the kubeconfig input nor KUBECONFIG is set)", cfg->kube_context);
		}
		rc = load_in_cluster(out, cfg, err);
		if (rc == 0) {
			apply_token_override(out, cfg);
		}
		return rc;
	} else {
		return error_set(err, ERR_NOT_FOUND,
				 "no cluster configuration: set the kubeconfig input, KUBECONFIG or kube-server, or run the "
				 "job inside the cluster");
	}
	if (rc == 0 && cfg->kube_context != NULL && cfg->kube_context[0] != '\0' &&
	    find_context(&kc, cfg->kube_context) == NULL) {
		char *names = context_names(&kc);
		rc = error_set(err, ERR_CONFIG, "invalid input 'kube-context': context '%s' not found in %s (contexts: %s)",
			       cfg->kube_context, source, names);
		free(names);
	}
	if (rc == 0) {
		rc = resolve_context(out, &kc, cfg->kube_context, cfg->namespace, override, err);
		if (rc < 0 && cfg->kubeconfig != NULL) {
			error_prefix(err, "invalid input 'kubeconfig': ");
		} else if (rc < 0) {
			error_prefix(err, "%s: ", source);
		}
	}
	if (rc == 0) {
		out->source = source;
		source = NULL;
		apply_token_override(out, cfg);
	}
	free(source);
	kubeconfig_dispose(&kc);
	return rc;
}
