/* SPDX-License-Identifier: MIT */
#ifndef SRC_KUBECONFIG_H
#define SRC_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "error.h"

/*
 * Cluster configuration: kubeconfig files (client-go's clientcmd/api/v1 types) and the in-cluster
 * service account. The only user of libyaml. Every credential is passed to log_mask() the moment
 * it is read, before anything could print it.
 */

#define KUBECONFIG_MAX_BYTES (4 * 1024 * 1024)
#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kubeconfig_cluster {
	char *name;
	char *server;
	char *ca_path;           /* certificate-authority, resolved against dir */
	char *ca_data;           /* certificate-authority-data, decoded PEM */
	size_t ca_len;
	bool insecure;           /* insecure-skip-tls-verify */
	char *tls_server_name;
	char *proxy_url;
};

struct kubeconfig_user {
	char *name;
	char *token;             /* masked */
	char *token_path;        /* tokenFile */
	char *cert_path;         /* client-certificate */
	char *cert_data;         /* client-certificate-data, decoded */
	size_t cert_len;
	char *key_path;          /* client-key */
	char *key_data;          /* client-key-data, decoded; masked */
	size_t key_len;
	char *username;
	char *password;          /* masked */
	char *exec_command;      /* exec.command, or "" for an exec entry without one */
	char *auth_provider;     /* auth-provider.name, or "" */
};

struct kubeconfig_context {
	char *name;
	char *cluster;
	char *user;
	char *namespace;
};

/* one or more merged kubeconfig documents */
struct kubeconfig {
	struct kubeconfig_cluster *clusters;
	size_t n_clusters;
	struct kubeconfig_user *users;
	size_t n_users;
	struct kubeconfig_context *contexts;
	size_t n_contexts;
	char *current_context;
};

#define KUBECONFIG_INIT { NULL, 0, NULL, 0, NULL, 0, NULL }

/* what the Kubernetes client needs: one resolved context, with every file read into memory */
struct kube_target {
	char *source;            /* "the kubeconfig input", "KUBECONFIG file /x", "the in-cluster service account" */
	char *context;           /* NULL in-cluster */
	char *user;              /* the kubeconfig user entry, NULL in-cluster */
	char *server;            /* scheme://host[:port][/prefix], no trailing slash */
	char *namespace;         /* namespace input, else the context's, else "default" */
	char *token;             /* secret */
	char *username;
	char *password;          /* secret */
	char *ca_pem;
	size_t ca_len;
	char *cert_pem;
	size_t cert_len;
	char *key_pem;           /* secret */
	size_t key_len;
	bool insecure;
	char *tls_server_name;
	char *proxy_url;         /* the cluster's proxy-url, NULL: the job's HTTPS_PROXY/NO_PROXY */
	bool oidc_pending;       /* kube-oidc-audience: token is still to be requested (rollback.c) */
};

/*
 * Parses one kubeconfig document (YAML or JSON) of len bytes and adds its entries to kc, which
 * must be KUBECONFIG_INIT or the result of earlier calls: entries whose names are already present
 * and an already set current-context are kept (the first file wins, as kubectl merges
 * KUBECONFIG). Relative file paths are resolved against dir (NULL: kept as given); nothing is
 * read from disk. Returns 0 or ERR_CONFIG naming the entry and field; kc may then hold a part of
 * the document and must still be disposed.
 */
int kubeconfig_parse(struct kubeconfig *kc, const char *yaml, size_t len, const char *dir, struct error *err);
void kubeconfig_dispose(struct kubeconfig *kc);

/*
 * Selects a context (NULL or "": current-context) and resolves it into out, reading token,
 * certificate and key files. namespace (NULL or "": the context's, else "default") overrides.
 * Returns 0 or ERR_CONFIG (unknown context, cluster or user, exec/auth-provider user, unreadable
 * file, no server).
 */
int kubeconfig_resolve(struct kube_target *out, const struct kubeconfig *kc, const char *context,
		       const char *namespace, struct error *err);

/*
 * Loads the cluster configuration the inputs ask for: the kubeconfig input (base64 or YAML),
 * else the files named by $KUBECONFIG, else the in-cluster service account (sa_dir, NULL:
 * KUBE_SA_DIR). Returns 0; ERR_CONFIG when what was given is broken; ERR_NOT_FOUND when nothing
 * is configured at all (the message says what to set).
 */
int kubeconfig_load(struct kube_target *out, const struct config *cfg, struct error *err);

/* decodes standard base64 (whitespace ignored); returns 0 or -1 on a bad character or length */
int kubeconfig_base64_decode(char **out, size_t *len_out, const char *s, size_t len);
/* true when s (trimmed) looks like base64 rather than YAML: only base64 characters and whitespace */
bool kubeconfig_is_base64(const char *s, size_t len);

void kube_target_dispose(struct kube_target *t);

#endif
