/* SPDX-License-Identifier: MIT */
/*
 * Encrypted archives (core/archive/crypto.c): PBKDF2-HMAC-SHA256 against
 * known answers, and AES-256-GCM blocks made here with OpenSSL's encrypt
 * side using the nonce of FORMAT.md 6, decrypted, tampered with and read
 * under the wrong block number.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <hexz/common.h>

#include "archive/crypto.h"
#include "testutil.h"

static void
hex_to_bytes(const char *hex, unsigned char *out, size_t len)
{
	size_t i;

	ck_assert_uint_eq(strlen(hex), 2 * len);
	for (i = 0; i < len; i++) {
		unsigned int v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
}

/*
 * Encrypt `len` bytes as hexz stores block `block_number`: ciphertext then
 * tag. Returns a malloc()ed buffer of len + 16 bytes.
 */
static unsigned char *
encrypt_block(const struct archive_key *key, uint64_t block_number, const void *plain, size_t len)
{
	unsigned char nonce[12] = { 0 };
	unsigned char *out = malloc(len + CRYPTO_TAG_LEN);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n, i;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(ctx);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (unsigned char)(block_number >> (56 - 8 * i));
	ck_assert_int_eq(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key->bytes, nonce), 1);
	if (len)
		ck_assert_int_eq(EVP_EncryptUpdate(ctx, out, &n, plain, (int)len), 1);
	ck_assert_int_eq(EVP_EncryptFinal_ex(ctx, out + len, &n), 1);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, out + len),
			 1);
	EVP_CIPHER_CTX_free(ctx);
	return out;
}

static void
test_key(struct archive_key *key, unsigned char seed)
{
	size_t i;

	for (i = 0; i < CRYPTO_KEY_LEN; i++)
		key->bytes[i] = (unsigned char)(seed + 7 * i);
}

/* PBKDF2 ---------------------------------------------------------------- */

/*
 * PBKDF2-HMAC-SHA256 known answers. The vector "password", "salt", 1
 * iteration has a 4-byte salt, and an archive's salt is always 16 bytes,
 * so that one pins down the primitive (libcrypto's PBKDF2 with SHA-256)
 * and crypto_derive_key() is held to answers computed independently
 * (a plain HMAC-SHA256 implementation of RFC 8018) for 16-byte salts.
 */
START_TEST(test_pbkdf2_known_answer)
{
	static const unsigned char salt16[CRYPTO_SALT_LEN] = "saltsaltsaltsalt";
	static const unsigned char zero_salt[CRYPTO_SALT_LEN] = { 0 };
	struct archive_key key, expect;

	ck_assert_int_eq(PKCS5_PBKDF2_HMAC("password", 8, (const unsigned char *)"salt", 4, 1,
					   EVP_sha256(), CRYPTO_KEY_LEN, key.bytes),
			 1);
	hex_to_bytes("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
		     expect.bytes, CRYPTO_KEY_LEN);
	ck_assert_int_eq(memcmp(key.bytes, expect.bytes, CRYPTO_KEY_LEN), 0);

	ck_assert_int_eq(crypto_derive_key("password", 8, salt16, 4096, &key), HEXZ_OK);
	hex_to_bytes("16e35b12b41f465ca64d069578d750059775ccad5df3ad53d6b204acb122d1ee",
		     expect.bytes, CRYPTO_KEY_LEN);
	ck_assert_int_eq(memcmp(key.bytes, expect.bytes, CRYPTO_KEY_LEN), 0);

	/* The empty password, also as NULL. */
	hex_to_bytes("c8c2ef93624f53f746ad5664441f9e04f1dde6c84f8f0a06689d9f4ef61ec1bd",
		     expect.bytes, CRYPTO_KEY_LEN);
	ck_assert_int_eq(crypto_derive_key("", 0, zero_salt, 1, &key), HEXZ_OK);
	ck_assert_int_eq(memcmp(key.bytes, expect.bytes, CRYPTO_KEY_LEN), 0);
	ck_assert_int_eq(crypto_derive_key(NULL, 0, zero_salt, 1, &key), HEXZ_OK);
	ck_assert_int_eq(memcmp(key.bytes, expect.bytes, CRYPTO_KEY_LEN), 0);
}
END_TEST

/* Password bytes are bytes: a NUL inside counts, the length decides. */
START_TEST(test_pbkdf2_password_bytes)
{
	static const unsigned char salt[CRYPTO_SALT_LEN] = "0123456789abcdef";
	struct archive_key a, b;

	ck_assert_int_eq(crypto_derive_key("pass\0word", 9, salt, 10, &a), HEXZ_OK);
	ck_assert_int_eq(crypto_derive_key("pass", 4, salt, 10, &b), HEXZ_OK);
	ck_assert_int_ne(memcmp(a.bytes, b.bytes, CRYPTO_KEY_LEN), 0);
	ck_assert_int_eq(crypto_derive_key("pass\0other", 4, salt, 10, &a), HEXZ_OK);
	ck_assert_int_eq(memcmp(a.bytes, b.bytes, CRYPTO_KEY_LEN), 0);
}
END_TEST

/* 0 and more than CRYPTO_MAX_ITERATIONS are refused at once, key untouched. */
START_TEST(test_pbkdf2_iteration_limits)
{
	static const unsigned char salt[CRYPTO_SALT_LEN] = { 1 };
	struct archive_key key;
	double t0;

	memset(&key, 0x5A, sizeof(key));
	t0 = tu_now();
	ck_assert_int_eq(crypto_derive_key("pw", 2, salt, 0, &key), HEXZ_ERR_LIMIT);
	ck_assert_int_eq(crypto_derive_key("pw", 2, salt, CRYPTO_MAX_ITERATIONS + 1, &key),
			 HEXZ_ERR_LIMIT);
	ck_assert_int_eq(crypto_derive_key("pw", 2, salt, UINT32_MAX, &key), HEXZ_ERR_LIMIT);
	ck_assert_msg(tu_now() - t0 < 1.0, "a refused count still did work");
	ck_assert(tu_all_bytes(key.bytes, CRYPTO_KEY_LEN, 0x5A));
	ck_assert_int_eq(crypto_derive_key("pw", 2, salt, 1, &key), HEXZ_OK);
}
END_TEST

START_TEST(test_forget_key)
{
	struct archive_key key;

	memset(&key, 0xC3, sizeof(key));
	crypto_forget_key(&key);
	ck_assert(tu_all_bytes(key.bytes, CRYPTO_KEY_LEN, 0));
}
END_TEST

/* AES-256-GCM ------------------------------------------------------------ */

/*
 * NIST GCM test cases 13 and 14 (zero key, zero IV): block number 0 gives
 * the all-zero nonce.
 */
START_TEST(test_gcm_known_answer)
{
	struct archive_key key;
	unsigned char stored[32], plain[16];

	memset(&key, 0, sizeof(key));
	hex_to_bytes("530f8afbc74536b9a963b4f1c4cb738b", stored, 16);
	ck_assert_int_eq(crypto_decrypt_block(&key, 0, stored, 16, NULL), HEXZ_OK);
	hex_to_bytes("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919", stored,
		     32);
	memset(plain, 0xEE, sizeof(plain));
	ck_assert_int_eq(crypto_decrypt_block(&key, 0, stored, 32, plain), HEXZ_OK);
	ck_assert(tu_all_bytes(plain, 16, 0));
	/* Any other block number is another nonce. */
	ck_assert_int_eq(crypto_decrypt_block(&key, 1, stored, 32, plain), HEXZ_ERR_DECRYPT);
}
END_TEST

START_TEST(test_round_trip)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 4096, 65536 + 4, 1000003 };
	static const uint64_t numbers[] = { 0, 1, 255, 256, 0x0102030405060708u, UINT64_MAX };
	struct archive_key key;
	size_t i, j;

	test_key(&key, 1);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		unsigned char *plain = malloc(lens[i] + 1);
		unsigned char *out = malloc(lens[i] + 1);

		ck_assert_ptr_nonnull(plain);
		ck_assert_ptr_nonnull(out);
		tu_pattern_fill(plain, i * 7, lens[i]);
		for (j = 0; j < sizeof(numbers) / sizeof(numbers[0]); j++) {
			unsigned char *stored = encrypt_block(&key, numbers[j], plain, lens[i]);

			out[lens[i]] = 0x77;
			ck_assert_int_eq(crypto_decrypt_block(&key, numbers[j], stored,
							      lens[i] + CRYPTO_TAG_LEN, out),
					 HEXZ_OK);
			ck_assert_int_eq(memcmp(out, plain, lens[i]), 0);
			ck_assert_uint_eq(out[lens[i]], 0x77);
			/* In place. */
			ck_assert_int_eq(crypto_decrypt_block(&key, numbers[j], stored,
							      lens[i] + CRYPTO_TAG_LEN, stored),
					 HEXZ_OK);
			ck_assert_int_eq(memcmp(stored, plain, lens[i]), 0);
			free(stored);
		}
		free(out);
		free(plain);
	}
}
END_TEST

/* Every single-bit change of ciphertext or tag fails, and leaves no plaintext. */
START_TEST(test_tampered)
{
	enum { LEN = 300 };
	struct archive_key key;
	unsigned char plain[LEN], out[LEN], *stored;
	size_t bit;

	test_key(&key, 2);
	memset(plain, 'p', sizeof(plain));
	stored = encrypt_block(&key, 42, plain, LEN);
	for (bit = 0; bit < 8 * (LEN + CRYPTO_TAG_LEN); bit += bit < 8 * LEN ? 13 : 1) {
		stored[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		memset(out, 0x11, sizeof(out));
		ck_assert_int_eq(crypto_decrypt_block(&key, 42, stored, LEN + CRYPTO_TAG_LEN, out),
				 HEXZ_ERR_DECRYPT);
		ck_assert(tu_all_bytes(out, LEN, 0));
		stored[bit / 8] ^= (unsigned char)(1u << (bit % 8));
	}
	ck_assert_int_eq(crypto_decrypt_block(&key, 42, stored, LEN + CRYPTO_TAG_LEN, out),
			 HEXZ_OK);
	ck_assert_int_eq(memcmp(out, plain, LEN), 0);
	/* Cut short or extended: the tag is read from the wrong place. */
	ck_assert_int_eq(crypto_decrypt_block(&key, 42, stored, LEN + CRYPTO_TAG_LEN - 1, out),
			 HEXZ_ERR_DECRYPT);
	free(stored);
}
END_TEST

START_TEST(test_wrong_block_or_key)
{
	struct archive_key key, other;
	unsigned char plain[100], out[100], *stored;

	test_key(&key, 3);
	test_key(&other, 4);
	memset(plain, 'q', sizeof(plain));
	stored = encrypt_block(&key, 1000, plain, sizeof(plain));
	ck_assert_int_eq(crypto_decrypt_block(&key, 999, stored, sizeof(plain) + 16, out),
			 HEXZ_ERR_DECRYPT);
	ck_assert_int_eq(crypto_decrypt_block(&key, 1001, stored, sizeof(plain) + 16, out),
			 HEXZ_ERR_DECRYPT);
	/* The number is big-endian in the nonce: byte-swapped is another block. */
	ck_assert_int_eq(
		crypto_decrypt_block(&key, 0xE803000000000000u, stored, sizeof(plain) + 16, out),
		HEXZ_ERR_DECRYPT);
	ck_assert_int_eq(crypto_decrypt_block(&other, 1000, stored, sizeof(plain) + 16, out),
			 HEXZ_ERR_DECRYPT);
	ck_assert_int_eq(crypto_decrypt_block(&key, 1000, stored, sizeof(plain) + 16, out),
			 HEXZ_OK);
	ck_assert_int_eq(memcmp(out, plain, sizeof(plain)), 0);
	free(stored);
}
END_TEST

START_TEST(test_too_short)
{
	struct archive_key key;
	unsigned char stored[16] = { 0 };
	size_t n;

	test_key(&key, 5);
	for (n = 0; n < CRYPTO_TAG_LEN; n++)
		ck_assert_int_eq(crypto_decrypt_block(&key, 0, stored, n, NULL), HEXZ_ERR_DECRYPT);
	ck_assert_int_eq(crypto_decrypt_block(&key, 0, NULL, 0, NULL), HEXZ_ERR_DECRYPT);
}
END_TEST

/* Threads, each with its own context, decrypting with two keys at once. */
#define THREADS 8
#define ROUNDS 300
#define TLEN 4096

struct worker {
	pthread_t thread;
	const struct archive_key *keys;
	unsigned char *const *stored; /* 2 keys x 4 blocks */
	const unsigned char *plain;
	pthread_barrier_t *start;
	unsigned int id;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned char out[TLEN];
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < ROUNDS; i++) {
		unsigned int k = (w->id + (unsigned int)i) % 2, b = (unsigned int)i % 4;

		if (crypto_decrypt_block(&w->keys[k], b, w->stored[k * 4 + b], TLEN + 16, out) !=
			    HEXZ_OK ||
		    memcmp(out, w->plain + b * TLEN, TLEN) != 0)
			w->failures++;
		/* And a wrong block number on the same context. */
		if (crypto_decrypt_block(&w->keys[k], b + 1, w->stored[k * 4 + b], TLEN + 16,
					 out) != HEXZ_ERR_DECRYPT)
			w->failures++;
	}
	return NULL;
}

START_TEST(test_concurrent)
{
	struct archive_key keys[2];
	unsigned char *stored[8], *plain = malloc(4 * TLEN);
	struct worker workers[THREADS];
	pthread_barrier_t start;
	unsigned int i;

	ck_assert_ptr_nonnull(plain);
	tu_pattern_fill(plain, 0, 4 * TLEN);
	test_key(&keys[0], 6);
	test_key(&keys[1], 7);
	for (i = 0; i < 8; i++)
		stored[i] = encrypt_block(&keys[i / 4], i % 4, plain + (i % 4) * TLEN, TLEN);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){
			.keys = keys, .stored = stored, .plain = plain, .start = &start, .id = i
		};
		ck_assert_int_eq(pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]),
				 0);
	}
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(workers[i].thread, NULL), 0);
	pthread_barrier_destroy(&start);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(workers[i].failures, 0);
	for (i = 0; i < 8; i++)
		free(stored[i]);
	free(plain);
}
END_TEST

static Suite *
crypto_suite(void)
{
	Suite *s = suite_create("crypto");
	TCase *kdf = tcase_create("kdf");
	TCase *gcm = tcase_create("gcm");

	tcase_add_test(kdf, test_pbkdf2_known_answer);
	tcase_add_test(kdf, test_pbkdf2_password_bytes);
	tcase_add_test(kdf, test_pbkdf2_iteration_limits);
	tcase_add_test(kdf, test_forget_key);
	suite_add_tcase(s, kdf);

	tcase_add_test(gcm, test_gcm_known_answer);
	tcase_add_test(gcm, test_round_trip);
	tcase_add_test(gcm, test_tampered);
	tcase_add_test(gcm, test_wrong_block_or_key);
	tcase_add_test(gcm, test_too_short);
	tcase_add_test(gcm, test_concurrent);
	suite_add_tcase(s, gcm);
	return s;
}

int
main(void)
{
	return tu_run_suite(crypto_suite());
}
