/* SPDX-License-Identifier: MIT */
/*
 * hexz-inspect: what a hexz archive holds, whether it is sound, and its
 * contents, using libhexz alone. It tells a user why an archive does or
 * does not mount.
 *
 *   hexz-inspect [--passfile FILE] ARCHIVE            header facts
 *   hexz-inspect [--passfile FILE] --verify ARCHIVE   read and check every block
 *   hexz-inspect [--passfile FILE] --cat WHAT ARCHIVE main, auxiliary or a manifest path
 *
 * ARCHIVE may be a URL (http(s)://HOST/PATH/NAME.hxz, s3://BUCKET/KEY.hxz):
 * it is then read through libhexz's remote backend, S3 settings from the
 * AWS_* environment and the AWS shared files (profiles) as the AWS CLI
 * reads them, --ca-file for https, --cache-dir for a persistent
 * disk cache of fetched chunks shared with later runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hexz/hexz.h>

/* Exit statuses: 1 for an archive that is unreadable or unsound, 2 for usage. */
#define EXIT_UNSOUND 1
#define EXIT_USAGE 2
/* The longest password file read. */
#define MAX_PASSWORD 4096
/* Bytes read per call when streaming or verifying. */
#define CHUNK (4u << 20)

static const char *const stream_names[2] = { "main", "auxiliary" };

/* The remote archive's storage, whose failed reads explain themselves; NULL for a file. */
static const struct hexz_storage *remote_storage;

/* After a failed read: the remote reason behind it (URL, HTTP status, S3 code), if any. */
static void
report_remote_failure(void)
{
	struct hexz_error why = { 0 };

	if (remote_storage && hexz_remote_read_error(remote_storage, &why) == HEXZ_OK &&
	    why.message[0])
		fprintf(stderr, "hexz-inspect: %s\n", why.message);
}

static void
usage(FILE *out)
{
	fprintf(out, "Usage: hexz-inspect [OPTIONS] ARCHIVE\n"
		     "Show what a hexz archive holds; check it; print its contents.\n"
		     "\n"
		     "  --verify          read and check every block of both streams and of\n"
		     "                    every parent; exit 1 naming the first bad block\n"
		     "  --cat WHAT        write a stream (main, auxiliary) or the manifest\n"
		     "                    file at path WHAT to standard output\n"
		     "  --passfile FILE   password of an encrypted archive: the file's\n"
		     "                    content without one trailing newline\n"
		     "                    (HEXZ_PASSWORD in the environment works too)\n"
		     "  --ca-file FILE    trust the CA certificates in FILE for https\n"
		     "  --cache-dir DIR   keep fetched chunks of a URL in DIR (created 0700)\n"
		     "                    for later runs; at most a tenth of its free space\n"
		     "  -h, --help        this help\n"
		     "  -V, --version     the version\n"
		     "\n"
		     "ARCHIVE may be a URL: http(s)://HOST[:PORT]/PATH/NAME.hxz or\n"
		     "s3://BUCKET/KEY.hxz (credentials, region and endpoint from AWS_* and\n"
		     "the AWS CLI's files: AWS_PROFILE, ~/.aws/credentials, ~/.aws/config).\n"
		     "Parents of thin archives are found as hexz finds them: the path as\n"
		     "written, then relative to the archive's directory (beside it for a URL).\n"
		     "Exit status: 0 sound, 1 unreadable or damaged archive, 2 bad usage.\n");
}

static int
read_passfile(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "hexz-inspect: password file '%s': %s\n", path, strerror(errno));
		return -1;
	}
	buf = malloc(MAX_PASSWORD + 1);
	if (!buf) {
		fclose(f);
		fprintf(stderr, "hexz-inspect: out of memory\n");
		return -1;
	}
	n = fread(buf, 1, MAX_PASSWORD + 1, f);
	if (ferror(f) || n > MAX_PASSWORD) {
		fprintf(stderr, "hexz-inspect: password file '%s': %s\n", path,
			ferror(f) ? strerror(errno) : "longer than 4096 bytes");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	*out = buf;
	*len = n;
	return 0;
}

static const char *
yes_no(bool b)
{
	return b ? "yes" : "no";
}

static void
print_stream(const struct hexz_archive_info *info, const struct hexz_archive_scan *scan,
	     bool scanned, unsigned int s)
{
	printf("%-13s %" PRIu64 " bytes, %" PRIu64 " blocks in %" PRIu64 " index pages",
	       stream_names[s], info->stream_size[s], info->block_count[s], info->page_count[s]);
	if (scanned)
		printf(" (%" PRIu64 " stored, %" PRIu64 " zero, %" PRIu64 " in parents)",
		       scan->data_blocks[s], scan->zero_blocks[s], scan->parent_blocks[s]);
	printf("\n");
}

static int
show_info(struct hexz_archive *ar)
{
	struct hexz_archive_info info;
	struct hexz_archive_scan scan;
	struct hexz_error err = { 0 };
	uint64_t logical, stored;
	bool scanned;
	size_t i;

	memset(&scan, 0, sizeof(scan));
	hexz_archive_get_info(ar, &info);
	scanned = hexz_archive_scan(ar, &scan, &err) == HEXZ_OK;
	printf("%-13s %s\n", "archive", hexz_archive_location(ar));
	printf("%-13s hexz format %u, %" PRIu64 " bytes\n", "format", info.format_version,
	       info.file_size);
	printf("%-13s %s, %s blocks of %u bytes nominal", "compression",
	       info.compression == HEXZ_COMPRESSION_LZ4 ? "lz4" : "zstd",
	       info.variable_blocks ? "variable" : "fixed", info.block_size);
	if (info.has_dictionary)
		printf(", dictionary of %u bytes", info.dictionary_length);
	printf("\n");
	if (info.encrypted)
		printf("%-13s AES-256-GCM, key from PBKDF2-HMAC-SHA256 with %u iterations\n",
		       "encryption", info.kdf_iterations);
	else
		printf("%-13s none\n", "encryption");
	print_stream(&info, &scan, scanned, HEXZ_STREAM_MAIN);
	print_stream(&info, &scan, scanned, HEXZ_STREAM_AUXILIARY);
	if (scanned) {
		/* The ratio of what this archive stores: zero and parent blocks cost nothing here. */
		logical = scan.data_bytes[0] + scan.data_bytes[1];
		stored = scan.stored_bytes[0] + scan.stored_bytes[1];
		printf("%-13s %" PRIu64 " bytes in data blocks holding %" PRIu64 " bytes", "stored",
		       stored, logical);
		if (stored > 0)
			printf(", compression ratio %.2f", (double)logical / (double)stored);
		printf("\n");
	} else {
		printf("%-13s unknown: %s\n", "stored", err.message);
		report_remote_failure();
	}
	for (i = 0; i < info.parent_count; i++) {
		struct hexz_archive *p = hexz_archive_parent(ar, i);

		printf("%-13s %s (opened as %s)\n", i == 0 ? "parents" : "",
		       hexz_archive_parent_path(ar, i), p ? hexz_archive_location(p) : "?");
	}
	if (info.has_manifest) {
		printf("%-13s %zu files", "manifest", hexz_archive_manifest_count(ar));
		if (hexz_archive_manifest_rejected_count(ar))
			printf(", %zu entries rejected", hexz_archive_manifest_rejected_count(ar));
		printf("\n");
		for (i = 0; hexz_archive_manifest_rejected(ar, i); i++)
			printf("%-13s %s\n", "  rejected", hexz_archive_manifest_rejected(ar, i));
	} else {
		printf("%-13s %s\n", "manifest", info.has_metadata ? "no (metadata only)" : "no");
	}
	printf("%-13s %s\n", "signature", yes_no(info.has_signature));
	return scanned ? 0 : EXIT_UNSOUND;
}

static int
write_all(const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "hexz-inspect: writing to standard output: %s\n",
				strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read [offset, offset + len) of a stream in chunks, to stdout or only to check it. */
static int
read_range(struct hexz_archive *ar, enum hexz_stream s, uint64_t offset, uint64_t len,
	   bool output, unsigned char *buf)
{
	struct hexz_error err = { 0 };

	while (len > 0) {
		size_t n = len < CHUNK ? (size_t)len : CHUNK;

		if (hexz_archive_read(ar, s, offset, n, buf, &err) != HEXZ_OK) {
			fprintf(stderr, "hexz-inspect: %s\n", err.message);
			report_remote_failure();
			return EXIT_UNSOUND;
		}
		if (output && write_all(buf, n) != 0)
			return EXIT_UNSOUND;
		offset += n;
		len -= n;
	}
	return 0;
}

/* The tree node of manifest path `path` ("dir/file"), or HEXZ_TREE_NONE. */
static uint32_t
find_path(const struct hexz_archive *ar, const char *path)
{
	char copy[PATH_MAX], *name, *save = NULL;
	uint32_t node = 0;

	if (hexz_archive_tree_count(ar) == 0 || strlen(path) >= sizeof(copy))
		return HEXZ_TREE_NONE;
	strcpy(copy, path);
	for (name = strtok_r(copy, "/", &save); name && node != HEXZ_TREE_NONE;
	     name = strtok_r(NULL, "/", &save))
		node = hexz_archive_tree_lookup(ar, node, name);
	return node;
}

static int
cat(struct hexz_archive *ar, const char *what, unsigned char *buf)
{
	struct hexz_tree_node file;
	uint32_t node;
	size_t i;

	for (i = 0; i < 2; i++)
		if (strcmp(what, stream_names[i]) == 0)
			return read_range(ar, (enum hexz_stream)i, 0,
					  hexz_archive_stream_size(ar, (enum hexz_stream)i), true,
					  buf);
	node = find_path(ar, what);
	if (node != HEXZ_TREE_NONE && hexz_archive_tree_node(ar, node, &file) == HEXZ_OK &&
	    !file.is_dir)
		return read_range(ar, HEXZ_STREAM_MAIN, file.offset, file.size, true, buf);
	fprintf(stderr, "hexz-inspect: %s: no stream or manifest file '%s'\n",
		hexz_archive_location(ar), what);
	return EXIT_UNSOUND;
}

/* Every block of both streams, then of every parent (depth first). */
static int
verify(struct hexz_archive *ar, unsigned char *buf, unsigned int depth)
{
	struct hexz_archive *p;
	unsigned int s;
	size_t i;
	int ret;

	for (s = 0; s < 2; s++) {
		ret = read_range(ar, (enum hexz_stream)s, 0,
				 hexz_archive_stream_size(ar, (enum hexz_stream)s), false, buf);
		if (ret)
			return ret;
	}
	if (hexz_archive_manifest_rejected_count(ar) > 0) {
		fprintf(stderr, "hexz-inspect: %s: %zu manifest entries rejected, first: %s\n",
			hexz_archive_location(ar), hexz_archive_manifest_rejected_count(ar),
			hexz_archive_manifest_rejected(ar, 0));
		return EXIT_UNSOUND;
	}
	printf("%*s%s: sound\n", (int)depth * 2, "", hexz_archive_location(ar));
	for (i = 0; (p = hexz_archive_parent(ar, i)) != NULL; i++) {
		ret = verify(p, buf, depth + 1);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Open the archive at `url` through a remote context. S3 settings come
 * from the environment and the AWS shared files, as the AWS CLI reads
 * them (libhexz resolves them: aws_envp); --ca-file wins over
 * AWS_CA_BUNDLE and a profile's ca_bundle.
 */
static int
open_remote(const char *url, const char *ca_file, const char *cache_dir,
	    struct hexz_archive_options *opts, struct hexz_remote **remote,
	    struct hexz_archive **ar, struct hexz_storage **failed, struct hexz_error *err)
{
	struct hexz_remote_options ro;
	struct hexz_storage *st = NULL;
	int ret;

	hexz_remote_options_init(&ro);
	ro.ca_file = ca_file;
	ro.cache_dir = cache_dir;
	/* Only S3 reads the AWS configuration: a broken ~/.aws/config never fails an https URL. */
	if (strncmp(url, "s3://", 5) == 0)
		ro.aws_envp = (const char *const *)environ;
	ret = hexz_remote_create(&ro, remote, err);
	if (ret)
		return ret;
	ret = hexz_remote_open(*remote, url, &st, err);
	if (ret)
		return ret;
	opts->location = url;
	opts->resolve_parent = hexz_remote_resolve_parent;
	opts->resolve_opaque = *remote;
	/* Set first: a failed read of the header or index explains itself as later reads do. */
	remote_storage = st;
	ret = hexz_archive_open(st, opts, ar, err);
	if (ret)
		*failed = st;
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verify", no_argument, NULL, 'v' },   { "cat", required_argument, NULL, 'c' },
		{ "passfile", required_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },  { "ca-file", required_argument, NULL, 'a' },
		{ "cache-dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct hexz_remote *remote = NULL;
	struct hexz_storage *failed_storage = NULL;
	const char *ca_file = NULL, *cache_dir = NULL;
	struct hexz_archive_options opts = { 0 };
	struct hexz_error err = { 0 };
	struct hexz_archive *ar = NULL;
	const char *cat_what = NULL, *passfile = NULL;
	char *password = NULL;
	unsigned char *buf = NULL;
	bool do_verify = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			do_verify = true;
			break;
		case 'c':
			cat_what = optarg;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'a':
			ca_file = optarg;
			break;
		case 'd':
			cache_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hexz-inspect %s\n", hexz_version());
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || (do_verify && cat_what)) {
		fprintf(stderr, "hexz-inspect: %s\n",
			optind + 1 != argc ? "expected exactly one ARCHIVE"
					   : "--verify and --cat do not go together");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (passfile) {
		if (read_passfile(passfile, &password, &opts.password_len) != 0)
			return EXIT_USAGE;
		opts.password = password;
	} else if (getenv("HEXZ_PASSWORD")) {
		opts.password = getenv("HEXZ_PASSWORD");
		opts.password_len = strlen(opts.password);
	}
	if (strstr(argv[optind], "://"))
		ret = open_remote(argv[optind], ca_file, cache_dir, &opts, &remote, &ar,
				  &failed_storage, &err);
	else
		ret = hexz_archive_open_path(argv[optind], &opts, &ar, &err);
	if (ret != HEXZ_OK) {
		fprintf(stderr, "hexz-inspect: %s\n", err.message);
		report_remote_failure();
		ret = EXIT_UNSOUND;
		goto out;
	}
	if (do_verify || cat_what) {
		buf = malloc(CHUNK);
		if (!buf) {
			fprintf(stderr, "hexz-inspect: out of memory\n");
			ret = EXIT_UNSOUND;
			goto out;
		}
	}
	if (do_verify)
		ret = verify(ar, buf, 0);
	else if (cat_what)
		ret = cat(ar, cat_what, buf);
	else
		ret = show_info(ar);
out:
	free(buf);
	hexz_archive_close(ar);
	hexz_storage_close(failed_storage);
	hexz_remote_destroy(remote);
	if (password) {
		explicit_bzero(password, MAX_PASSWORD + 1);
		free(password);
	}
	return ret;
}
