/* SPDX-License-Identifier: MIT */
/*
 * Encrypted archives through OpenSSL's libcrypto: PBKDF2-HMAC-SHA256 for
 * the key, AES-256-GCM for each block (FORMAT.md 6).
 *
 * Every block needs a cipher context. Allocating one per block (and
 * fetching the cipher implementation again, as OpenSSL 3 does on a fresh
 * context) would sit on the read path, so each thread keeps one context,
 * set to AES-256-GCM once and re-keyed per block with EVP_DecryptInit_ex().
 * It is freed when the thread exits (a pthread key destructor), and the
 * exiting process's own thread frees its context from an atexit() handler
 * registered after OpenSSL's, so that it runs before OpenSSL cleans up.
 *
 * The context keeps the key schedule of the last block it decrypted until
 * the next block or the thread's end; EVP_CIPHER_CTX_free() wipes it.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <hexz/common.h>

#include "crypto.h"

#define GCM_NONCE_LEN 12

int
crypto_derive_key(const void *password, size_t password_len,
		  const unsigned char salt[CRYPTO_SALT_LEN], uint32_t iterations,
		  struct archive_key *out)
{
	/* Before any work: a hostile header must not buy minutes of PBKDF2. */
	if (iterations == 0 || iterations > CRYPTO_MAX_ITERATIONS)
		return HEXZ_ERR_LIMIT;
	if (password_len > INT_MAX)
		return HEXZ_ERR_LIMIT;
	if (PKCS5_PBKDF2_HMAC(password ? (const char *)password : "", (int)password_len, salt,
			      CRYPTO_SALT_LEN, (int)iterations, EVP_sha256(), CRYPTO_KEY_LEN,
			      out->bytes) != 1) {
		OPENSSL_cleanse(out->bytes, sizeof(out->bytes));
		ERR_clear_error();
		return HEXZ_ERR_SYSTEM;
	}
	return HEXZ_OK;
}

void
crypto_forget_key(struct archive_key *key)
{
	OPENSSL_cleanse(key->bytes, sizeof(key->bytes));
}

/* The calling thread's cipher context, also registered under cipher_key. */
static __thread EVP_CIPHER_CTX *tls_cipher;
static pthread_key_t cipher_key;
static pthread_once_t cipher_key_once = PTHREAD_ONCE_INIT;
static int cipher_key_status = -1; /* 0 once cipher_key exists */

/* Thread exit: free the thread's context. */
static void
cipher_destroy(void *p)
{
	EVP_CIPHER_CTX_free(p);
	tls_cipher = NULL;
}

/*
 * Process exit (or libhexz unloaded): free the calling thread's context
 * while OpenSSL is still there, and delete the key so that no thread left
 * running calls a destructor in unmapped code.
 */
static void
cipher_atexit(void)
{
	if (tls_cipher) {
		EVP_CIPHER_CTX_free(tls_cipher);
		tls_cipher = NULL;
	}
	if (cipher_key_status == 0) {
		pthread_key_delete(cipher_key);
		cipher_key_status = -1;
	}
}

static void
cipher_key_create(void)
{
	/* OpenSSL registers its own atexit() cleanup here, before ours. */
	if (OPENSSL_init_crypto(0, NULL) != 1)
		return;
	if (pthread_key_create(&cipher_key, cipher_destroy) != 0)
		return;
	if (atexit(cipher_atexit) != 0) {
		pthread_key_delete(cipher_key);
		return;
	}
	cipher_key_status = 0;
}

/* The calling thread's AES-256-GCM context, made on first use; NULL on failure. */
static EVP_CIPHER_CTX *
thread_cipher(void)
{
	EVP_CIPHER_CTX *ctx = tls_cipher;

	if (ctx)
		return ctx;
	pthread_once(&cipher_key_once, cipher_key_create);
	if (cipher_key_status != 0)
		return NULL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return NULL;
	/* The cipher once; each block then sets only key and nonce. */
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    pthread_setspecific(cipher_key, ctx) != 0) {
		EVP_CIPHER_CTX_free(ctx);
		ERR_clear_error();
		return NULL;
	}
	tls_cipher = ctx;
	return ctx;
}

static void
store_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

int
crypto_decrypt_block(const struct archive_key *key, uint64_t block_number, const void *stored,
		     size_t stored_len, void *plain)
{
	unsigned char nonce[GCM_NONCE_LEN] = { 0 };
	unsigned char tag[CRYPTO_TAG_LEN];
	unsigned char final[CRYPTO_TAG_LEN];
	EVP_CIPHER_CTX *ctx;
	size_t cipher_len;
	int len;

	if (stored_len < CRYPTO_TAG_LEN)
		return HEXZ_ERR_DECRYPT;
	cipher_len = stored_len - CRYPTO_TAG_LEN;
	if (cipher_len > INT_MAX)
		return HEXZ_ERR_DECRYPT;
	ctx = thread_cipher();
	if (!ctx)
		return HEXZ_ERR_NO_MEMORY;

	store_be64(nonce + 4, block_number);
	/* A copy: EVP_CIPHER_CTX_ctrl() takes a non-const pointer. */
	memcpy(tag, (const unsigned char *)stored + cipher_len, CRYPTO_TAG_LEN);
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, key->bytes, nonce) != 1)
		goto fail;
	if (cipher_len && EVP_DecryptUpdate(ctx, plain, &len, stored, (int)cipher_len) != 1)
		goto fail;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, tag) != 1)
		goto fail;
	/* GCM is a stream mode: Final writes nothing, it checks the tag. */
	if (EVP_DecryptFinal_ex(ctx, final, &len) != 1)
		goto fail;
	return HEXZ_OK;

fail:
	/* Leave no unauthenticated plaintext behind. */
	if (cipher_len)
		memset(plain, 0, cipher_len);
	ERR_clear_error();
	return HEXZ_ERR_DECRYPT;
}
