/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "kubeconfig.h"
#include "log.h"
#include "tap.h"
#include "util.h"

static const char *plain =
	"apiVersion: v1\n"
	"kind: Config\n"
	"clusters:\n"
	"- name: prod\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443/\n"
	"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBQ0EKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=\n"
	"    tls-server-name: kube.internal\n"
	"- name: dev\n"
	"  cluster: {server: \"127.0.0.1:8080\", insecure-skip-tls-verify: true}\n"
	"users:\n"
	"- name: deployer\n"
	"  user:\n"
	"    token: tok-Kc81-unit-secret\n"
	"- name: certuser\n"
	"  user:\n"
	"    client-certificate-data: Q0VSVA==\n"
	/* "-----BEGIN PRIVATE KEY-----\nS3cr3tKeyMaterialLine\n-----END PRIVATE KEY-----\n" */
	"    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tClMzY3IzdEtleU1hdGVyaWFsTGluZQotLS0tLUVORCBQUklWQVRFIEtFWS0tLS0tCg==\n"
	"- name: basic\n"
	"  user: {username: admin, password: pw-Unit-77}\n"
	"- name: gke\n"
	"  user:\n"
	"    exec:\n"
	"      apiVersion: client.authentication.k8s.io/v1beta1\n"
	"      command: gke-gcloud-auth-plugin\n"
	"- name: oidc\n"
	"  user:\n"
	"    auth-provider: {name: oidc, config: {id-token: xyz}}\n"
	"- name: nobody\n"
	"  user: {}\n"
	"contexts:\n"
	"- name: prod\n"
	"  context: {cluster: prod, user: deployer, namespace: shop}\n"
	"- name: dev\n"
	"  context: {cluster: dev, user: certuser}\n"
	"- name: basic\n"
	"  context: {cluster: dev, user: basic}\n"
	"- name: gke\n"
	"  context: {cluster: prod, user: gke}\n"
	"- name: oidc\n"
	"  context: {cluster: prod, user: oidc}\n"
	"- name: anon\n"
	"  context: {cluster: dev, user: nobody}\n"
	"- name: lost-cluster\n"
	"  context: {cluster: nowhere, user: deployer}\n"
	"- name: lost-user\n"
	"  context: {cluster: prod, user: ghost}\n"
	"current-context: prod\n";

static int
parse(struct kubeconfig *kc, const char *text, const char *dir, struct error *err)
{
	memset(kc, 0, sizeof(*kc));
	return kubeconfig_parse(kc, text, strlen(text), dir, err);
}

static void
test_kubeconfig__parse(void)
{
	struct kubeconfig kc;
	struct error err = ERROR_INIT;

	is_int(parse(&kc, plain, NULL, &err), 0, "plain kubeconfig parses (%s)", err.msg);
	is_int(kc.n_clusters, 2, "two clusters");
	is_int(kc.n_users, 6, "six users");
	is_int(kc.n_contexts, 8, "eight contexts");
	is_str(kc.current_context, "prod", "current-context");
	is_str(kc.clusters[0].server, "https://10.0.0.1:6443/", "server as written");
	is_str(kc.clusters[0].ca_data, "-----BEGIN CERTIFICATE-----\nCACA\n-----END CERTIFICATE-----\n",
	       "certificate-authority-data decoded");
	is_str(kc.clusters[0].tls_server_name, "kube.internal", "tls-server-name");
	ok(kc.clusters[1].insecure, "insecure-skip-tls-verify: true");
	is_str(kc.users[0].token, "tok-Kc81-unit-secret", "token");
	ok(log_has_secret("x tok-Kc81-unit-secret y"), "the token is masked as soon as it is read");
	ok(log_has_secret("S3cr3tKeyMaterialLine"), "the client key's lines are masked");
	ok(!log_has_secret("-----BEGIN PRIVATE KEY-----"), "but not the BEGIN line every key shares");
	ok(log_has_secret("pw-Unit-77"), "the password is masked");
	is_str(kc.users[3].exec_command, "gke-gcloud-auth-plugin", "exec command noted");
	is_str(kc.users[4].auth_provider, "oidc", "auth-provider noted");
	kubeconfig_dispose(&kc);
}

static void
test_kubeconfig__resolve(void)
{
	struct kubeconfig kc;
	struct kube_target t;
	struct error err = ERROR_INIT;

	(void)parse(&kc, plain, NULL, &err);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, NULL, NULL, &err), 0, "current context resolves");
	is_str(t.context, "prod", "context");
	is_str(t.user, "deployer", "user");
	is_str(t.server, "https://10.0.0.1:6443", "trailing slash dropped");
	is_str(t.namespace, "shop", "the context's namespace");
	is_str(t.token, "tok-Kc81-unit-secret", "token");
	ok(t.ca_pem != NULL && t.ca_len == strlen(t.ca_pem) && strstr(t.ca_pem, "CACA") != NULL, "CA PEM blob");
	is_str(t.tls_server_name, "kube.internal", "tls-server-name carried");
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "prod", "override", &err), 0, "namespace override");
	is_str(t.namespace, "override", "the namespace input wins");
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "dev", NULL, &err), 0, "client-certificate context (%s)", err.msg);
	is_str(t.server, "https://127.0.0.1:8080", "a bare host:port gets https://");
	is_str(t.namespace, "default", "no namespace anywhere: default");
	is_str(t.cert_pem, "CERT", "client certificate decoded");
	ok(t.key_pem != NULL && strstr(t.key_pem, "S3cr3tKeyMaterialLine") != NULL, "client key decoded");
	ok(t.insecure, "insecure");
	ok(t.token == NULL, "no token");
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "basic", NULL, &err), 0, "basic auth context");
	is_str(t.username, "admin", "username");
	is_str(t.password, "pw-Unit-77", "password");
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "anon", NULL, &err), 0, "a user without credentials is allowed");
	ok(t.token == NULL && t.cert_pem == NULL && t.username == NULL, "no credentials");
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "gke", NULL, &err), ERR_CONFIG, "exec user refused");
	ok(strstr(err.msg, "user 'gke'") != NULL && strstr(err.msg, "exec credential plugin") != NULL &&
		   strstr(err.msg, "gke-gcloud-auth-plugin") != NULL && strstr(err.msg, "cannot run inside") != NULL,
	   "the message names the user and says why: %s", err.msg);
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "oidc", NULL, &err), ERR_CONFIG, "auth-provider user refused");
	ok(strstr(err.msg, "user 'oidc'") != NULL && strstr(err.msg, "auth-provider") != NULL, "message: %s", err.msg);
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "nope", NULL, &err), ERR_CONFIG, "unknown context refused");
	ok(strstr(err.msg, "context 'nope' not found") != NULL && strstr(err.msg, "'prod', 'dev'") != NULL,
	   "the message lists the contexts: %s", err.msg);
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "lost-cluster", NULL, &err), ERR_CONFIG, "missing cluster refused");
	ok(strstr(err.msg, "cluster 'nowhere' not found") != NULL, "message: %s", err.msg);
	kube_target_dispose(&t);

	memset(&t, 0, sizeof(t));
	is_int(kubeconfig_resolve(&t, &kc, "lost-user", NULL, &err), ERR_CONFIG, "missing user refused");
	ok(strstr(err.msg, "user 'ghost' not found") != NULL, "message: %s", err.msg);
	kube_target_dispose(&t);
	kubeconfig_dispose(&kc);
}

static void
test_kubeconfig__errors(void)
{
	static const struct {
		const char *yaml;
		const char *want;
	} cases[] = {
		{ "clusters: [\n", "invalid YAML at line" },
		{ "", "empty" },
		{ "- a\n- b\n", "expected a mapping" },
		{ "clusters: {a: b}\n", "'clusters' must be a list" },
		{ "clusters:\n- cluster: {server: x}\n", "clusters[0] has no name" },
		{ "clusters:\n- name: a\n  cluster: [1]\n", "'cluster' must be a mapping" },
		{ "clusters:\n- name: a\n  cluster: {certificate-authority-data: '!!notbase64'}\n",
		  "cluster 'a': 'certificate-authority-data' is not valid base64" },
		{ "clusters:\n- name: a\n  cluster: {insecure-skip-tls-verify: maybe}\n", "must be true or false" },
		{ "users:\n- name: u\n  user: {token: [a, b]}\n", "user 'u': 'token' must be a single value" },
		{ NULL, NULL },
	};
	struct kubeconfig kc;
	struct error err = ERROR_INIT;
	size_t i;

	for (i = 0; cases[i].yaml != NULL; i++) {
		error_clear(&err);
		is_int(parse(&kc, cases[i].yaml, NULL, &err), ERR_CONFIG, "broken kubeconfig %zu refused", i);
		ok(strstr(err.msg, cases[i].want) != NULL, "message names the problem: %s", err.msg);
		kubeconfig_dispose(&kc);
	}

	(void)parse(&kc,
		    "clusters: [{name: c, cluster: {server: 'ftp://x'}}]\nusers: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n"
		    "contexts: [{name: a, context: {cluster: c}}, {name: b, context: {cluster: c, user: u}}]\n",
		    NULL, &err);
	{
		struct kube_target t;
		memset(&t, 0, sizeof(t));
		is_int(kubeconfig_resolve(&t, &kc, NULL, NULL, &err), ERR_CONFIG, "no current-context and no kube-context");
		ok(strstr(err.msg, "no context selected") != NULL, "message: %s", err.msg);
		kube_target_dispose(&t);
		memset(&t, 0, sizeof(t));
		is_int(kubeconfig_resolve(&t, &kc, "a", NULL, &err), ERR_CONFIG, "ftp server refused");
		ok(strstr(err.msg, "http:// or https://") != NULL, "message: %s", err.msg);
		kube_target_dispose(&t);
	}
	kubeconfig_dispose(&kc);

	(void)parse(&kc,
		    "clusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: Q0E=, insecure-skip-tls-verify: true}}]\n"
		    "users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n"
		    "contexts: [{name: a, context: {cluster: c}}, {name: b, context: {cluster: c, user: u}}]\ncurrent-context: a\n",
		    NULL, &err);
	{
		struct kube_target t;
		memset(&t, 0, sizeof(t));
		is_int(kubeconfig_resolve(&t, &kc, "a", NULL, &err), ERR_CONFIG, "CA with insecure refused (as client-go)");
		kube_target_dispose(&t);
	}
	kubeconfig_dispose(&kc);
	(void)parse(&kc,
		    "clusters: [{name: c, cluster: {server: 'https://x'}}]\n"
		    "users: [{name: u, user: {client-certificate-data: Q0VSVA==}}]\n"
		    "contexts: [{name: b, context: {cluster: c, user: u}}]\n",
		    NULL, &err);
	{
		struct kube_target t;
		memset(&t, 0, sizeof(t));
		is_int(kubeconfig_resolve(&t, &kc, "b", NULL, &err), ERR_CONFIG, "certificate without key refused");
		ok(strstr(err.msg, "client certificate but no client key") != NULL, "message: %s", err.msg);
		kube_target_dispose(&t);
	}
	kubeconfig_dispose(&kc);
}

static void
test_kubeconfig__base64(void)
{
	char *out = NULL;
	size_t len = 0;

	ok(!kubeconfig_is_base64(plain, strlen(plain)), "YAML is not base64");
	ok(kubeconfig_is_base64("YXBpVmVyc2lvbjogdjEK\n", 21), "base64 is base64");
	ok(kubeconfig_is_base64("YXBp\nVmVy c2lv\n", strlen("YXBp\nVmVy c2lv\n")), "wrapped base64 too");
	ok(!kubeconfig_is_base64("abc", 3), "too short to tell: YAML");
	is_int(kubeconfig_base64_decode(&out, &len, "YXBpVmVyc2lvbjogdjEK", 20), 0, "decodes");
	is_str(out, "apiVersion: v1\n", "decoded text");
	free(out);
	is_int(kubeconfig_base64_decode(&out, &len, "YQ", 2), 0, "unpadded accepted");
	is_str(out, "a", "unpadded text");
	free(out);
	is_int(kubeconfig_base64_decode(&out, &len, "YQ=a", 4), -1, "data after padding refused");
	is_int(kubeconfig_base64_decode(&out, &len, "Y", 1), -1, "a lone character refused");
	is_int(kubeconfig_base64_decode(&out, &len, "Y*==", 4), -1, "bad character refused");
}

static char *
write_temp(const char *dir, const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		(void)fputs(content, f);
		(void)fclose(f);
	}
	return path;
}

static void
test_kubeconfig__files(void)
{
	char tmpl[] = "/tmp/test-kubeconfig-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *sub, *p1, *p2, *ca, *tok, *list, *sa, *sa_tok, *sa_ca, *sa_ns;
	struct config cfg;
	struct kube_target t;
	struct error err = ERROR_INIT;
	struct kubeconfig kc;

	if (!ok(dir != NULL, "temporary directory")) {
		return;
	}
	sub = xasprintf("%s/kube", dir);
	(void)mkdir(sub, 0700);
	ca = write_temp(sub, "ca.pem", "-----BEGIN CERTIFICATE-----\nFILECA\n-----END CERTIFICATE-----\n");
	tok = write_temp(sub, "token", "tok-File-Unit-9911\n\n");
	p1 = write_temp(sub, "config",
			"clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1', certificate-authority: ca.pem}}]\n"
			"users: [{name: u, user: {tokenFile: token}}, {name: both, user: {token: tok-Inline-Unit-4, tokenFile: /nonexistent}}]\n"
			"contexts: [{name: a, context: {cluster: c, user: u}}, {name: b, context: {cluster: c, user: both}}]\n"
			"current-context: a\n");
	p2 = write_temp(dir, "second",
			"clusters: [{name: c, cluster: {server: 'http://second'}}, {name: d, cluster: {server: 'http://d'}}]\n"
			"contexts: [{name: a, context: {cluster: d}}, {name: z, context: {cluster: d, namespace: zz}}]\n"
			"current-context: z\n");

	/* relative paths against the file's directory */
	memset(&kc, 0, sizeof(kc));
	is_int(kubeconfig_parse(&kc, "clusters: [{name: c, cluster: {certificate-authority: ca.pem}}, "
				     "{name: d, cluster: {certificate-authority: /abs/ca.pem}}]\n",
				strlen("clusters: [{name: c, cluster: {certificate-authority: ca.pem}}, "
				       "{name: d, cluster: {certificate-authority: /abs/ca.pem}}]\n"),
				"/etc/kube", &err),
	       0, "paths parse");
	is_str(kc.clusters[0].ca_path, "/etc/kube/ca.pem", "a relative path resolves against the kubeconfig's directory");
	is_str(kc.clusters[1].ca_path, "/abs/ca.pem", "an absolute path stays");
	kubeconfig_dispose(&kc);

	/* KUBECONFIG with a missing file and two real ones: the first wins */
	memset(&cfg, 0, sizeof(cfg));
	list = xasprintf("%s/missing:%s:%s", dir, p1, p2);
	cfg.ctx.kubeconfig_path = list;
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "KUBECONFIG list loads (%s)", err.msg);
	is_str(t.server, "http://127.0.0.1:1", "the first file's cluster wins");
	is_str(t.token, "tok-File-Unit-9911", "tokenFile read and trimmed");
	ok(log_has_secret("tok-File-Unit-9911"), "a token read from a file is masked");
	ok(t.ca_pem != NULL && strstr(t.ca_pem, "FILECA") != NULL, "certificate-authority read relative to the file");
	ok(strstr(t.source, "KUBECONFIG") != NULL && strstr(t.source, "missing") == NULL, "source: %s", t.source);
	kube_target_dispose(&t);

	cfg.kube_context = (char *)"b";
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "token and tokenFile");
	is_str(t.token, "tok-Inline-Unit-4", "token wins over tokenFile");
	kube_target_dispose(&t);

	cfg.kube_context = (char *)"z";
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "a context of the second file");
	is_str(t.namespace, "zz", "its namespace");
	kube_target_dispose(&t);

	cfg.kube_context = (char *)"nope";
	is_int(kubeconfig_load(&t, &cfg, &err), ERR_CONFIG, "unknown kube-context");
	ok(strstr(err.msg, "invalid input 'kube-context': context 'nope' not found") != NULL, "message: %s", err.msg);
	kube_target_dispose(&t);
	cfg.kube_context = NULL;

	free(list);
	list = xasprintf("%s/missing", dir);
	cfg.ctx.kubeconfig_path = list;
	is_int(kubeconfig_load(&t, &cfg, &err), ERR_CONFIG, "KUBECONFIG naming no file");
	kube_target_dispose(&t);

	/* the kubeconfig input, base64 */
	cfg.ctx.kubeconfig_path = NULL;
	cfg.kubeconfig = (char *)"Y2x1c3RlcnM6IFt7bmFtZTogYywgY2x1c3Rlcjoge3NlcnZlcjogJ2h0dHA6Ly9iNjQnfX1dCmNvbnRleHRzOiBbe25hbWU6IGEsIGNvbnRleHQ6IHtjbHVzdGVyOiBjfX1dCmN1cnJlbnQtY29udGV4dDogYQo=";
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "base64 input (%s)", err.msg);
	is_str(t.server, "http://b64", "decoded and parsed");
	is_str(t.source, "the kubeconfig input", "source");
	kube_target_dispose(&t);
	cfg.kubeconfig = (char *)"clusters: [{name: c, cluster: {server: 'http://plain'}}]\ncontexts: [{name: a, context: {cluster: c}}]\n";
	cfg.kube_context = (char *)"a";
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "plain YAML input");
	is_str(t.server, "http://plain", "parsed");
	kube_target_dispose(&t);
	cfg.kube_context = NULL;
	cfg.kubeconfig = (char *)"clusters: [\n";
	is_int(kubeconfig_load(&t, &cfg, &err), ERR_CONFIG, "broken input");
	ok(strstr(err.msg, "invalid input 'kubeconfig': invalid YAML") != NULL, "message names the input: %s", err.msg);
	kube_target_dispose(&t);
	cfg.kubeconfig = NULL;

	/* in-cluster */
	sa = xasprintf("%s/sa", dir);
	(void)mkdir(sa, 0700);
	sa_tok = write_temp(sa, "token", "tok-SA-Unit-5150");
	sa_ca = write_temp(sa, "ca.crt", "-----BEGIN CERTIFICATE-----\nSACA\n-----END CERTIFICATE-----\n");
	sa_ns = write_temp(sa, "namespace", "payments\n");
	cfg.ctx.k8s_service_host = (char *)"10.96.0.1";
	cfg.ctx.k8s_service_port = (char *)"443";
	cfg.ctx.sa_dir = sa;
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "in-cluster (%s)", err.msg);
	is_str(t.server, "https://10.96.0.1:443", "server from the service variables");
	is_str(t.token, "tok-SA-Unit-5150", "service account token");
	is_str(t.namespace, "payments", "namespace file");
	ok(t.ca_pem != NULL && strstr(t.ca_pem, "SACA") != NULL, "ca.crt");
	kube_target_dispose(&t);
	cfg.ctx.k8s_service_host = (char *)"fd00::1";
	cfg.namespace = (char *)"given";
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "in-cluster, IPv6");
	is_str(t.server, "https://[fd00::1]:443", "IPv6 bracketed");
	is_str(t.namespace, "given", "namespace input wins");
	kube_target_dispose(&t);
	cfg.kube_context = (char *)"x";
	is_int(kubeconfig_load(&t, &cfg, &err), ERR_CONFIG, "kube-context without a kubeconfig");
	kube_target_dispose(&t);
	cfg.kube_context = NULL;
	(void)unlink(sa_tok);
	is_int(kubeconfig_load(&t, &cfg, &err), ERR_NOT_FOUND, "in-cluster without a token: nothing configured");
	kube_target_dispose(&t);
	cfg.ctx.k8s_service_host = NULL;
	is_int(kubeconfig_load(&t, &cfg, &err), ERR_NOT_FOUND, "nothing at all");
	ok(strstr(err.msg, "no cluster configuration") != NULL, "message: %s", err.msg);
	kube_target_dispose(&t);

	(void)unlink(sa_ca);
	(void)unlink(sa_ns);
	(void)rmdir(sa);
	(void)unlink(ca);
	(void)unlink(tok);
	(void)unlink(p1);
	(void)unlink(p2);
	(void)rmdir(sub);
	(void)rmdir(dir);
	free(sa);
	free(sa_tok);
	free(sa_ca);
	free(sa_ns);
	free(ca);
	free(tok);
	free(p1);
	free(p2);
	free(sub);
	free(list);
}

/* the log writes to stdout, where TAP is: lines the code under test prints go to /dev/null */
static int saved_stdout = -1;

static void
quiet_begin(void)
{
	int null = open("/dev/null", O_WRONLY);

	(void)fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	if (null >= 0) {
		(void)dup2(null, STDOUT_FILENO);
		(void)close(null);
	}
}

static void
quiet_end(void)
{
	(void)fflush(stdout);
	if (saved_stdout >= 0) {
		(void)dup2(saved_stdout, STDOUT_FILENO);
		(void)close(saved_stdout);
		saved_stdout = -1;
	}
}

/* issue 14: token overrides, kube-server, host-path KUBECONFIG, proxy-url */
static void
test_kubeconfig__overrides(void)
{
	static const char *exec_user =
		"clusters: [{name: c, cluster: {server: 'https://eks.example:443', proxy-url: 'http://proxy:3128'}}]\n"
		"users: [{name: u, user: {exec: {command: aws, args: [eks, get-token]}, token: user-tok,"
		" username: admin, password: pw-Unit-77}}]\n"
		"contexts: [{name: a, context: {cluster: c, user: u}}]\n"
		"current-context: a\n";
	char tmpl[] = "/tmp/test-kubeconfig-host-XXXXXX";
	char *dir = mkdtemp(tmpl);
	char *mount, *host_ws, *file, *first, *host_path;
	int rc;
	struct config cfg;
	struct kube_target t;
	struct error err = ERROR_INIT;

	memset(&cfg, 0, sizeof(cfg));
	cfg.kubeconfig = (char *)exec_user;
	is_int(kubeconfig_load(&t, &cfg, &err), ERR_CONFIG, "exec user without an override");
	ok(strstr(err.msg, "kube-token") != NULL && strstr(err.msg, "kube-oidc-audience") != NULL,
	   "the message names both ways out: %s", err.msg);
	kube_target_dispose(&t);

	cfg.kube_token = (char *)"kube-tok-Unit-78";
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "exec user with kube-token (%s)", err.msg);
	is_str(t.token, "kube-tok-Unit-78", "kube-token is the bearer token");
	ok(t.username == NULL && t.password == NULL && t.cert_pem == NULL, "the user's other credentials dropped");
	is_str(t.proxy_url, "http://proxy:3128", "proxy-url kept for the cluster");
	ok(strstr(t.source, "kube-token") != NULL, "source says where the token came from: %s", t.source);
	ok(!t.oidc_pending, "no OIDC request pending");
	kube_target_dispose(&t);

	cfg.kube_oidc_audience = (char *)"sts.amazonaws.com";
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "exec user with kube-oidc-audience and kube-token");
	ok(t.token == NULL && t.oidc_pending, "kube-oidc-audience wins: the token is requested later");
	kube_target_dispose(&t);
	cfg.kube_oidc_audience = NULL;

	/* kube-server without a kubeconfig */
	cfg.kubeconfig = NULL;
	cfg.kube_server = (char *)"https://10.1.2.3:6443/";
	cfg.kube_ca.data = (char *)"-----BEGIN CERTIFICATE-----\nKUBECA\n-----END CERTIFICATE-----\n";
	cfg.kube_ca.len = strlen(cfg.kube_ca.data);
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "kube-server + kube-token + kube-ca (%s)", err.msg);
	is_str(t.server, "https://10.1.2.3:6443", "server, trailing slash dropped");
	ok(t.ca_pem != NULL && strstr(t.ca_pem, "KUBECA") != NULL, "kube-ca is the CA");
	is_str(t.namespace, "default", "namespace defaults to default");
	is_str(t.token, "kube-tok-Unit-78", "token");
	kube_target_dispose(&t);
	cfg.kube_server = NULL;
	cfg.kube_ca.data = NULL;
	cfg.kube_token = NULL;

	/* KUBECONFIG as a host path: mapped into the mount, never read in place */
	if (!ok(dir != NULL, "temporary directory")) {
		return;
	}
	mount = xasprintf("%s/mount", dir);
	(void)mkdir(mount, 0700);
	file = write_temp(mount, "kubeconfig_5", "clusters: [{name: c, cluster: {server: 'http://mapped'}}]\n"
						    "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n");
	cfg.ctx.runner_workspace = (char *)"/home/runner/work/atom";
	cfg.ctx.runner_temp = mount;
	host_path = (char *)"/home/runner/work/_temp/kubeconfig_5";
	cfg.ctx.kubeconfig_path = host_path;
	quiet_begin();
	rc = kubeconfig_load(&t, &cfg, &err);
	quiet_end();
	is_int(rc, 0, "runner-temp host path (%s)", err.msg);
	is_str(t.server, "http://mapped", "read from the container's mount");
	kube_target_dispose(&t);
	cfg.ctx.kubeconfig_path = (char *)"/home/runner/work/_temp/kubeconfig_404";
	cfg.ctx.github_actions = true;
	quiet_begin();
	rc = kubeconfig_load(&t, &cfg, &err);
	quiet_end();
	is_int(rc, ERR_CONFIG, "mapped file missing");
	ok(strstr(err.msg, "visible inside the action's container") != NULL, "message: %s", err.msg);
	kube_target_dispose(&t);
	host_ws = xasprintf("%s/ws", dir);
	(void)mkdir(host_ws, 0700);
	first = file;
	file = write_temp(host_ws, "kc", "clusters: [{name: c, cluster: {server: 'http://ws'}}]\n"
					  "contexts: [{name: a, context: {cluster: c}}]\ncurrent-context: a\n");
	cfg.ctx.workspace = host_ws;
	cfg.ctx.kubeconfig_path = (char *)"/home/runner/work/atom/atom/kc";
	quiet_begin();
	rc = kubeconfig_load(&t, &cfg, &err);
	quiet_end();
	is_int(rc, 0, "workspace host path (%s)", err.msg);
	is_str(t.server, "http://ws", "read from the workspace mount");
	kube_target_dispose(&t);
	/* a path that is already the container's is read as it is */
	cfg.ctx.kubeconfig_path = file;
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "container path unchanged");
	kube_target_dispose(&t);

	(void)unlink(file);
	(void)unlink(first);
	(void)rmdir(host_ws);
	(void)rmdir(mount);
	(void)rmdir(dir);
	free(first);
	free(file);
	free(host_ws);
	free(mount);
}

/* issue 11 item 3: credentials libcurl sends base64-encoded are masked in that form too */
static void
test_kubeconfig__basic_forms(void)
{
	static const char *doc =
		"clusters: [{name: c, cluster: {server: 'https://k.example', "
		"proxy-url: 'http://puser:ppass-Unit-66@proxy.example:3128'}}]\n"
		"users: [{name: u, user: {username: admin, password: pw-Basic-Unit-55}}]\n"
		"contexts: [{name: a, context: {cluster: c, user: u}}]\n"
		"current-context: a\n";
	struct config cfg;
	struct kube_target t;
	struct error err = ERROR_INIT;

	memset(&cfg, 0, sizeof(cfg));
	cfg.kubeconfig = (char *)doc;
	is_int(kubeconfig_load(&t, &cfg, &err), 0, "basic auth and a proxy with credentials (%s)", err.msg);
	/* base64("admin:pw-Basic-Unit-55") and base64("puser:ppass-Unit-66") */
	ok(log_has_secret("Authorization: Basic YWRtaW46cHctQmFzaWMtVW5pdC01NQ=="),
	   "the basic-auth pair is masked in its base64 form");
	ok(log_has_secret("Proxy-Authorization: Basic cHVzZXI6cHBhc3MtVW5pdC02Ng=="),
	   "the proxy's credentials are masked in their base64 form");
	kube_target_dispose(&t);
}

int
main(void)
{
	log_init(false, false);
	test_kubeconfig__parse();
	test_kubeconfig__resolve();
	test_kubeconfig__errors();
	test_kubeconfig__base64();
	test_kubeconfig__files();
	test_kubeconfig__overrides();
	test_kubeconfig__basic_forms();
	log_secrets_dispose();
	return tap_done();
}
