/* SPDX-License-Identifier: MIT */
/* outside text: log_scrub and its encodings, the UTF-8 helpers, outside_line's steps and order */
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "log.h"
#include "outside.h"
#include "tap.h"
#include "util.h"

static char *
line(const char *s, size_t max)
{
	return outside_line(s, strlen(s), max);
}

#define is_line(in, max, want, ...)              \
	do {                                     \
		char *l_ = line((in), (max));    \
		is_str(l_, (want), __VA_ARGS__); \
		free(l_);                        \
	} while (0)

static void
test_utf8__char_len(void)
{
	is_int(utf8_char_len((const unsigned char *)"\xc3\xa9", 2), 2, "two-byte character");
	is_int(utf8_char_len((const unsigned char *)"\xe2\x82\xac", 3), 3, "three-byte character");
	is_int(utf8_char_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4,
	       "four-byte character");
	is_int(utf8_char_len((const unsigned char *)"\xe2\x82\xac", 2), 0, "cut short");
	is_int(utf8_char_len((const unsigned char *)"\xc0\xaf", 2), 0, "overlong two-byte form");
	is_int(utf8_char_len((const unsigned char *)"\xe0\x80\xaf", 3), 0,
	       "overlong three-byte form");
	is_int(utf8_char_len((const unsigned char *)"\xed\xa0\x80", 3), 0, "surrogate");
	is_int(utf8_char_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0, "past U+10FFFF");
	is_int(utf8_char_len((const unsigned char *)"\x80", 1), 0, "lone continuation byte");
	is_int(utf8_floor("a\xe2\x82\xac", 3), 1, "utf8_floor steps back over a split character");
	is_int(utf8_floor("ab\xe2\x82\xac", 2), 2, "utf8_floor keeps a boundary");
	{
		char s[] = "a\xff\xc3\xa9\xe2\x82";
		utf8_sanitize(s, strlen(s));
		is_str(s, "a?\xc3\xa9??", "utf8_sanitize: bad bytes become '?', good ones stay");
	}
}

static void
test_log__scrub(void)
{
	char *s;

	log_init(false, false);
	log_mask("s3cr3t/with space&more");
	s = log_scrub("a s3cr3t/with space&more b");
	is_str(s, "a *** b", "plain");
	free(s);
	s = log_scrub("q=s3cr3t%2Fwith%20space%26more&r=s3cr3t%2fwith%20space%26more");
	is_str(s, "q=***&r=***", "percent-encoding, upper- and lower-case hex");
	free(s);
	s = log_scrub("q=s3cr3t%2Fwith+space%26more&r=s3cr3t%2fwith+space%26more");
	is_str(s, "q=***&r=***", "form encoding ('+' for a space)");
	free(s);
	s = log_scrub("{\"t\":\"s3cr3t\\/with space&more\"}");
	is_str(s, "{\"t\":\"***\"}", "JSON with an escaped slash");
	free(s);
	s = log_scrub("nothing here");
	is_str(s, "nothing here", "no secret: unchanged");
	free(s);
	ok(log_has_secret("x s3cr3t/with space&more"), "log_has_secret");
	ok(!log_has_secret("s3cr3t/with"), "log_has_secret: a part is not the secret");
	s = log_scrub("ends with s3cr3t/wi");
	is_str(s, "ends with s3cr3t/wi", "log_scrub leaves a tail alone (a whole document)");
	free(s);
	s = log_scrub_cut("ends with s3cr3t/wi");
	is_str(s, "ends with ***", "log_scrub_cut: a tail that starts a secret (6+ bytes)");
	free(s);
	s = log_scrub_cut("ends with s3cr3");
	is_str(s, "ends with s3cr3", "log_scrub_cut: 5 bytes are not taken for a secret");
	free(s);

	log_mask("tab\tsecret value");
	s = log_scrub("x tab\tsecret value y");
	is_str(s, "x *** y", "a secret holding a tab and a space");
	free(s);
	s = log_scrub("{\"v\":\"tab\\tsecret value\"}");
	is_str(s, "{\"v\":\"***\"}", "... and in its JSON form");
	free(s);

	log_mask_basic("admin", "hunter2-basic");
	/* base64("admin:hunter2-basic") */
	s = log_scrub("Authorization: Basic YWRtaW46aHVudGVyMi1iYXNpYw==");
	is_str(s, "Authorization: Basic ***", "log_mask_basic: the base64 pair");
	free(s);
	log_secrets_dispose();
}

static void
test_util__base64(void)
{
	char *s;

	s = base64_encode("", 0);
	is_str(s, "", "base64 of nothing");
	free(s);
	s = base64_encode("f", 1);
	is_str(s, "Zg==", "base64, one byte");
	free(s);
	s = base64_encode("fo", 2);
	is_str(s, "Zm8=", "base64, two bytes");
	free(s);
	s = base64_encode("foobar", 6);
	is_str(s, "Zm9vYmFy", "base64, RFC 4648 test vector");
	free(s);
}

static void
test_outside__steps(void)
{
	char *s;

	log_init(false, false);
	is_line("  hello \t\n world  ", 100, "hello world", "whitespace folded, none at the ends");
	is_line("a\xc2\xa0\xe3\x80\x80"
		"b\xe2\x80\xa8"
		"c",
		100, "a b c", "Unicode spaces and line separators fold too");
	is_line("a\x01"
		"b\x7f"
		"c\xc2\x9b"
		"d",
		100, "a?b?c?d", "C0, DEL and C1 controls");
	is_line("x\xe2\x80\xae"
		"evil\xe2\x80\xac"
		"y\xef\xbb\xbf",
		100, "x?evil?y?", "bidi overrides and BOM");
	is_line("a\xff"
		"b\xc3"
		"c\xc3\xa9",
		100, "a?b?c\xc3\xa9", "invalid UTF-8 as '?', valid kept");
	is_line("::add-mask::x", 100, ": :add-mask: :x", "'::' broken up");
	is_line("a:::b", 100, "a: : :b", "':::' broken up");
	is_line("x ##[stop-commands]t", 100, "x ## [stop-commands]t", "'##[' broken up");
	is_line("###[group]", 100, "### [group]", "'###[' broken up");
	is_line("#\n#[x]", 100, "# #[x]", "'##[' split by a line break stays split");
	is_line("##\x01[x]", 100, "##?[x]",
		"a control character between '##' and '[' is not removed");
	is_line("abcdef", 3, "abc...", "cut at max bytes, marked");
	is_line("ab\xc3\xa9x", 3, "ab...", "cut before a character that does not fit");
	is_line("abc   ", 3, "abc", "only white space after max: nothing was cut");
	is_line("", 10, "", "empty");
	s = outside_line("a\0b", 3, 10);
	is_str(s, "a?b", "a NUL byte is a control character, not the end");
	free(s);
	{
		struct buf b = BUF_INIT;
		buf_puts(&b, "prefix:");
		outside_append(&b, ":add-mask::x", 12, 100);
		buf_puts(&b, " ##");
		outside_append(&b, "[group]", 7, 100);
		is_str(buf_str(&b), "prefix: :add-mask: :x ## [group]",
		       "a ':' or '##' just before the text counts too");
		buf_dispose(&b);
	}
	s = outside_line(NULL, 0, 10);
	is_str(s, "", "NULL is empty");
	free(s);
}

static void
test_outside__scrub_before_cut(void)
{
	const char *token = "tok-0123456789-abcdefghij";
	struct buf body = BUF_INIT;
	char *s;
	size_t i;

	log_init(false, false);
	log_mask(token);
	/* a 403 body that echoes the header, the token straddling the cut at 200 bytes */
	for (i = 0; i < 180; i++) {
		buf_putc(&body, 'f');
	}
	buf_printf(&body, " Authorization: Bearer %s trailing", token);
	for (i = 0; i < 300; i++) {
		s = outside_line(buf_str(&body), body.len, i);
		if (!ok(strstr(s, "tok-01") == NULL, "cut at %zu: no start of the token", i)) {
			printf("#   %s\n", s);
		}
		free(s);
	}
	/* whitespace is folded after scrubbing: a secret holding spaces is still found */
	log_mask("two  spaces\tand tab");
	is_line("x two  spaces\tand tab y", 100, "x *** y",
		"a secret with white space is scrubbed before folding");
	/* a tail cut off by the sender */
	is_line("echo: tok-0123456", 100, "echo: ***", "a sender's cut at the token's start");
	buf_dispose(&body);
	log_secrets_dispose();
}

static void
test_outside__log(void)
{
	struct buf b = BUF_INIT;

	log_init(false, false);
	log_mask("pw-log-secret");
	{
		const char *in = "  col  a\tb\nc\rd ::x ##[y] pw-log-secret";
		outside_append_log(&b, in, strlen(in));
	}
	is_str(buf_str(&b), "  col  a b\\nc\\rd : :x ## [y] ***",
	       "log form: spacing kept, breaks shown, sequences broken");
	buf_dispose(&b);
	log_secrets_dispose();
}

static void
test_error__cut_after_scrub(void)
{
	struct error err = ERROR_INIT;
	struct buf filler = BUF_INIT;
	size_t i;

	log_init(false, false);
	log_mask("ghs_0123456789abcdefghijklm");
	for (i = 0; i < 500; i++) {
		buf_putc(&filler, 'x');
	}
	(void)error_set(&err, ERR_AUTH, "%s ghs_0123456789abcdefghijklm", buf_str(&filler));
	ok(strstr(err.msg, "ghs_01") == NULL,
	   "error_set scrubs the whole message before cutting it to 511 bytes");
	buf_reset(&filler);
	for (i = 0; i < 510; i++) {
		buf_putc(&filler, 'x');
	}
	(void)error_set(&err, ERR_HTTP, "%s\xc3\xa9", buf_str(&filler));
	is_int(strlen(err.msg), 510, "error_set cuts between characters");
	error_prefix(&err, "context: ");
	ok(strncmp(err.msg, "context: xxx", 12) == 0 && strlen(err.msg) <= 511,
	   "error_prefix keeps the bound");
	buf_dispose(&filler);
	log_secrets_dispose();
}

int
main(void)
{
	test_utf8__char_len();
	test_log__scrub();
	test_util__base64();
	test_outside__steps();
	test_outside__scrub_before_cut();
	test_outside__log();
	test_error__cut_after_scrub();
	return tap_done();
}
