/* pack_sign.c — ed25519 keys and signatures of pack digests, with OpenSSL's
 * libcrypto (EVP_PKEY_ED25519); no cryptography of our own.
 *
 * What is signed is the text "oamlua-pack-signature/v1\nsha256:HEX\n": the
 * archive digest, with a prefix so that the signature cannot be mistaken
 * for one over anything else. A signature file is four lines:
 *
 *     oamlua-signature/v1
 *     key KEYID          first 16 hex digits of sha256 of the raw public key
 *     digest sha256:HEX
 *     signature BASE64   the 64-byte ed25519 signature
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "oamlua/pack.h"

#define SIGNED_PREFIX "oamlua-pack-signature/v1\n"

static void keyid_of(EVP_PKEY *k, char keyid[17])
{
	unsigned char raw[32];
	size_t len = sizeof raw;
	char hex[65];
	if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1)
		len = 0;
	oam_pack_sha256_hex(raw, len, hex);
	memcpy(keyid, hex, 16);
	keyid[16] = '\0';
}

static FILE *create_excl(const char *path, int mode, char *err, size_t errsize)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errsize, "cannot create %s: %s", path, strerror(errno));
		return NULL;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		snprintf(err, errsize, "cannot create %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
	}
	return f;
}

int oam_pack_keygen(const char *base, char keyid[17], char *err, size_t errsize)
{
	char kpath[PATH_MAX], ppath[PATH_MAX];
	EVP_PKEY *k = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	FILE *f = NULL;
	int rc = -1;
	snprintf(kpath, sizeof kpath, "%s.key", base);
	snprintf(ppath, sizeof ppath, "%s.pub", base);
	if (!access(kpath, F_OK) || !access(ppath, F_OK)) {
		snprintf(err, errsize, "%s.key or %s.pub exists already; not overwriting a key", base, base);
		goto out;
	}
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &k) != 1) {
		snprintf(err, errsize, "cannot generate an ed25519 key (libcrypto)");
		goto out;
	}
	if (!(f = create_excl(kpath, 0600, err, errsize)))
		goto out;
	if (PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1 || fclose(f)) {
		f = NULL;
		snprintf(err, errsize, "cannot write %s", kpath);
		unlink(kpath);
		goto out;
	}
	if (!(f = create_excl(ppath, 0644, err, errsize))) {
		unlink(kpath);
		goto out;
	}
	if (PEM_write_PUBKEY(f, k) != 1 || fclose(f)) {
		f = NULL;
		snprintf(err, errsize, "cannot write %s", ppath);
		unlink(kpath);
		unlink(ppath);
		goto out;
	}
	f = NULL;
	keyid_of(k, keyid);
	rc = 0;
out:
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static EVP_PKEY *read_key(const char *path, int private, char *err, size_t errsize)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	if (!f) {
		snprintf(err, errsize, "cannot open key %s: %s", path, strerror(errno));
		return NULL;
	}
	k = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k) {
		snprintf(err, errsize, "%s is not a PEM %s key", path, private ? "private" : "public");
		return NULL;
	}
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
		snprintf(err, errsize, "%s is not an ed25519 key", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static size_t signed_text(const char *digest, char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "%s%s\n", SIGNED_PREFIX, digest);
}

int oam_pack_sign(const char *keyfile, const char *digest, struct oam_buf *out, char keyid[17], char *err,
		  size_t errsize)
{
	EVP_PKEY *k = read_key(keyfile, 1, err, errsize);
	EVP_MD_CTX *md = NULL;
	unsigned char sig[64];
	size_t siglen = sizeof sig;
	char msg[256], b64[100], text[400];
	int rc = -1;
	if (!k)
		return -1;
	size_t mlen = signed_text(digest, msg, sizeof msg);
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)msg, mlen) != 1 || siglen != 64) {
		snprintf(err, errsize, "cannot sign with %s (libcrypto)", keyfile);
		goto out;
	}
	keyid_of(k, keyid);
	EVP_EncodeBlock((unsigned char *)b64, sig, 64);
	snprintf(text, sizeof text, "%s\nkey %s\ndigest %s\nsignature %s\n", OAM_PACK_SIG_MAGIC, keyid, digest, b64);
	if (oam_buf_add(out, text, strlen(text)) < 0) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}

int oam_pack_sig_parse(const char *text, size_t len, struct oam_pack_sig *s, char *err, size_t errsize)
{
	char buf[600], b64[100];
	unsigned char raw[80];
	memset(s, 0, sizeof *s);
	if (len >= sizeof buf || memchr(text, '\0', len)) {
		snprintf(err, errsize, "not a signature file");
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	char keyid[32], digest[100];
	int n = 0;
	if (sscanf(buf, OAM_PACK_SIG_MAGIC "\nkey %31s\ndigest %99s\nsignature %99s\n%n", keyid, digest, b64, &n) != 3 ||
	    (size_t)n != len) {
		snprintf(err, errsize, "not a signature file (%s: key, digest, signature lines)", OAM_PACK_SIG_MAGIC);
		return -1;
	}
	if (strlen(keyid) != 16 || strspn(keyid, "0123456789abcdef") != 16 || strncmp(digest, "sha256:", 7) ||
	    strlen(digest) != 71 || strspn(digest + 7, "0123456789abcdef") != 64 || strlen(b64) != 88 ||
	    EVP_DecodeBlock(raw, (const unsigned char *)b64, 88) != 66 || strcmp(b64 + 86, "==")) {
		snprintf(err, errsize, "malformed signature file");
		return -1;
	}
	/* Only the canonical form: exactly what oam_pack_sign writes. */
	char canon[400];
	snprintf(canon, sizeof canon, "%s\nkey %s\ndigest %s\nsignature %s\n", OAM_PACK_SIG_MAGIC, keyid, digest, b64);
	if (strcmp(canon, buf)) {
		snprintf(err, errsize, "malformed signature file");
		return -1;
	}
	memcpy(s->keyid, keyid, 17);
	memcpy(s->digest, digest, 72);
	memcpy(s->sig, raw, 64);
	return 0;
}

int oam_pack_pubkey_id(const char *pubfile, char keyid[17], char *err, size_t errsize)
{
	EVP_PKEY *k = read_key(pubfile, 0, err, errsize);
	if (!k)
		return -1;
	keyid_of(k, keyid);
	EVP_PKEY_free(k);
	return 0;
}

int oam_pack_sig_check(const struct oam_pack_sig *s, const char *digest, const char *pubfile, char *err,
		       size_t errsize)
{
	EVP_PKEY *k = read_key(pubfile, 0, err, errsize);
	EVP_MD_CTX *md = NULL;
	char msg[256], keyid[17];
	int rc = 0;
	if (!k)
		return -1;
	keyid_of(k, keyid);
	if (strcmp(keyid, s->keyid)) {
		snprintf(err, errsize, "signed by key %s, not by %s (%s)", s->keyid, keyid, pubfile);
		goto out;
	}
	if (strcmp(s->digest, digest)) {
		snprintf(err, errsize, "the signature is for %.19s…, the archive is %.19s…", s->digest, digest);
		goto out;
	}
	size_t mlen = signed_text(digest, msg, sizeof msg);
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) != 1) {
		snprintf(err, errsize, "cannot verify with %s (libcrypto)", pubfile);
		rc = -1;
		goto out;
	}
	if (EVP_DigestVerify(md, s->sig, 64, (const unsigned char *)msg, mlen) == 1)
		rc = 1;
	else
		snprintf(err, errsize, "bad signature: key %s did not sign this digest", keyid);
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return rc;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int oam_pack_sig_verify(const struct oam_pack_sig *s, const char *digest, const char *const *keys,
			const char *store, char *keyfile, size_t keyfile_size, char *err, size_t errsize)
{
	char **found = NULL;
	size_t n = 0, cap = 0;
	int rc = 0, matched = 0;
	char e[400] = "";
	if (!keys && store) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%s/trusted", store);
		DIR *dh = opendir(dir);
		struct dirent *de;
		while (dh && (de = readdir(dh))) {
			size_t l = strlen(de->d_name);
			if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".pub"))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 8;
				char **v = realloc(found, (cap + 1) * sizeof *v);
				if (!v)
					break;
				found = v;
			}
			found[n] = malloc(strlen(dir) + l + 2);
			if (!found[n])
				break;
			sprintf(found[n++], "%s/%s", dir, de->d_name);
		}
		if (dh)
			closedir(dh);
		if (n)
			qsort(found, n, sizeof *found, cmp_strp);
	}
	for (size_t i = 0; keys ? keys[i] != NULL : i < n; i++) {
		const char *kf = keys ? keys[i] : found[i];
		char id[17];
		if (oam_pack_pubkey_id(kf, id, e, sizeof e) < 0) {
			rc = -1;
			break;
		}
		if (strcmp(id, s->keyid))
			continue;
		matched = 1;
		int r = oam_pack_sig_check(s, digest, kf, e, sizeof e);
		if (r) {
			rc = r;
			if (r > 0)
				snprintf(keyfile, keyfile_size, "%s", kf);
			break;
		}
	}
	if (rc < 0)
		snprintf(err, errsize, "%s", e);
	else if (!rc && matched)
		snprintf(err, errsize, "%s", e);
	else if (!rc)
		snprintf(err, errsize, "signed by key %s, which is not %s", s->keyid,
			 keys ? "one of the keys given" : "trusted (no such key under the store's trusted/)");
	for (size_t i = 0; i < n; i++)
		free(found[i]);
	free(found);
	return rc;
}
