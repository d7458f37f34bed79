/* SPDX-License-Identifier: MIT */
/*
 * Encrypted archives: the key from the password (PBKDF2-HMAC-SHA256), and
 * AES-256-GCM decryption of one block, through OpenSSL's libcrypto.
 */
#ifndef HEXZ_CORE_ARCHIVE_CRYPTO_H
#define HEXZ_CORE_ARCHIVE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_SALT_LEN 16
#define CRYPTO_TAG_LEN 16

/*
 * The most PBKDF2 iterations accepted. hexz writes 600,000 (about 0.3 s of
 * one core here); this bound, over six times that, keeps a hostile header
 * from stalling the opener for more than about two seconds (2^32-1
 * iterations would take half an hour).
 */
#define CRYPTO_MAX_ITERATIONS 4000000u

struct archive_key {
	unsigned char bytes[CRYPTO_KEY_LEN];
};

/*
 * Derive the key of an archive. 0, HEXZ_ERR_LIMIT (iterations 0 or above
 * CRYPTO_MAX_ITERATIONS), or HEXZ_ERR_NO_MEMORY / HEXZ_ERR_SYSTEM when
 * libcrypto fails.
 */
int crypto_derive_key(const void *password, size_t password_len,
		      const unsigned char salt[CRYPTO_SALT_LEN], uint32_t iterations,
		      struct archive_key *out);

/*
 * Decrypt the stored bytes of block number `block_number` (ciphertext then
 * the 16-byte tag, `stored_len` bytes in all) into `plain`, which has room
 * for stored_len - 16 bytes. Nonce: 4 zero bytes, then the block number as
 * a big-endian u64; no associated data.
 * 0, or HEXZ_ERR_DECRYPT when the tag does not verify or stored_len < 16
 * (a tag failure leaves `plain` zeroed), or HEXZ_ERR_NO_MEMORY when the thread's cipher
 * context cannot be made. Thread safe.
 */
int crypto_decrypt_block(const struct archive_key *key, uint64_t block_number,
			 const void *stored, size_t stored_len, void *plain);

/* Forget a key (overwrite it in a way the compiler keeps). */
void crypto_forget_key(struct archive_key *key);

#endif /* HEXZ_CORE_ARCHIVE_CRYPTO_H */
