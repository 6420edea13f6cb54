/* SPDX-License-Identifier: MIT */
#include "buf.h"
#include "log.h"
#include "markdown.h"
#include "tap.h"
#include "wfcmd.h"

static void
test_wfcmd__escape(void)
{
	struct buf b = BUF_INIT;
	wfcmd_escape_data(&b, "50% a\r\nb: c, d");
	is_str(buf_str(&b), "50%25 a%0D%0Ab: c, d", "data escaping");
	buf_reset(&b);
	wfcmd_escape_property(&b, "GET /a:b,c%");
	is_str(buf_str(&b), "GET /a%3Ab%2Cc%25", "property escaping");
	buf_reset(&b);
	{
		const char *props[] = { "title", "GET /api:x", NULL };
		wfcmd_format(&b, "error", props, "HTTP 500\nboom");
	}
	is_str(buf_str(&b), "::error title=GET /api%3Ax::HTTP 500%0Aboom\n", "annotation");
	buf_dispose(&b);
}

static void
test_wfcmd__heredoc(void)
{
	struct buf b = BUF_INIT;
	wfcmd_heredoc(&b, "result", "passed", "abc");
	is_str(buf_str(&b), "result<<ghadelimiter_abc\npassed\nghadelimiter_abc\n", "heredoc form");
	buf_reset(&b);
	wfcmd_heredoc(&b, "x", "line\nghadelimiter_abc\nmore", "abc");
	ok(strstr(buf_str(&b), "x<<ghadelimiter_abc\n") == NULL, "a delimiter found in the value is replaced");
	buf_reset(&b);
	wfcmd_heredoc(&b, "empty", "", NULL);
	ok(strncmp(buf_str(&b), "empty<<ghadelimiter_", 20) == 0, "random delimiter");
	ok(strlen(buf_str(&b)) == strlen("empty<<ghadelimiter_") + 32 + 1 + 1 + 13 + 32 + 1, "32 hex digits, empty value line");
	buf_dispose(&b);
}

static void
test_wfcmd__scrub(void)
{
	char *s;
	log_init(false, false);
	log_mask("s3cr3t-token");
	s = log_scrub("Bearer s3cr3t-token and s3cr3t-token!");
	is_str(s, "Bearer *** and ***!", "every occurrence scrubbed");
	free(s);
	ok(log_has_secret("xx s3cr3t-token"), "secret detected");
	ok(!log_has_secret("nothing"), "no false positive");
	log_secrets_dispose();
}

static void
test_wfcmd__markdown(void)
{
	struct buf b = BUF_INIT;
	md_escape(&b, "fix @team <b>x</b> | *y*\n# z");
	is_str(buf_str(&b), "fix @\xe2\x80\x8bteam &lt;b&gt;x&lt;/b&gt; \\| \\*y\\* \\# z", "markdown escaping");
	buf_dispose(&b);
}

int
main(void)
{
	test_wfcmd__escape();
	test_wfcmd__heredoc();
	test_wfcmd__scrub();
	test_wfcmd__markdown();
	return tap_done();
}
