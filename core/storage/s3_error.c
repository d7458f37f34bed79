/* SPDX-License-Identifier: MIT */
/*
 * S3's error documents, read with expat: one parser per call, no global
 * state, entities never expanded from outside the document.
 */
#include <stdbool.h>
#include <string.h>

#include <expat.h>

#include "s3_error.h"

struct code_state {
	/* Element depth, and whether the path so far is /Error/Code. */
	int depth;
	bool in_error, in_code, done;
	char *out;
	size_t size, len;
};

static void XMLCALL
on_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct code_state *s = arg;

	(void)attrs;
	s->depth++;
	if (s->depth == 1)
		s->in_error = strcmp(name, "Error") == 0;
	else if (s->depth == 2 && s->in_error && !s->done)
		s->in_code = strcmp(name, "Code") == 0;
}

static void XMLCALL
on_end(void *arg, const XML_Char *name)
{
	struct code_state *s = arg;

	(void)name;
	if (s->depth == 2 && s->in_code) {
		s->in_code = false;
		s->done = true;
	}
	s->depth--;
}

static void XMLCALL
on_text(void *arg, const XML_Char *text, int len)
{
	struct code_state *s = arg;
	int i;

	if (!s->in_code || s->depth != 2)
		return;
	/* Codes are identifiers ("NoSuchKey"); anything else is dropped, never printed raw. */
	for (i = 0; i < len && s->len + 1 < s->size; i++)
		if (text[i] > ' ' && text[i] < 0x7f)
			s->out[s->len++] = text[i];
	s->out[s->len] = '\0';
}

void
s3_error_code(const char *body, size_t len, char *out, size_t size)
{
	struct code_state s = { .out = out, .size = size };
	XML_Parser p;

	out[0] = '\0';
	if (!body || !len || len > (size_t)1 << 20)
		return;
	p = XML_ParserCreate(NULL);
	if (!p)
		return;
	XML_SetUserData(p, &s);
	XML_SetElementHandler(p, on_start, on_end);
	XML_SetCharacterDataHandler(p, on_text);
	if (XML_Parse(p, body, (int)len, 1) == XML_STATUS_ERROR && !s.done)
		out[0] = '\0';
	if (!s.done)
		out[0] = '\0';
	XML_ParserFree(p);
}
