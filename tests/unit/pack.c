/* Unit tests: semantic versions and ranges, the pack archive (determinism,
 * canonical form, tampering), the lock file, ed25519 signatures. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "oamlua/pack.h"

static int sat(const char *v, const char *range)
{
	struct oam_semver s;
	char err[200];
	if (oam_semver_parse(v, &s) < 0)
		return -2;
	return oam_semver_satisfies(&s, range, err, sizeof err);
}

static int cmpv(const char *a, const char *b)
{
	struct oam_semver x, y;
	if (oam_semver_parse(a, &x) < 0 || oam_semver_parse(b, &y) < 0)
		return 99;
	return oam_semver_cmp(&x, &y);
}

static void versions(void)
{
	struct oam_semver v;
	ok(oam_semver_parse("1.2.3", &v) == 0 && v.major == 1 && v.minor == 2 && v.patch == 3, "1.2.3 parses");
	ok(oam_semver_parse("1.0.0-rc.1+build.5", &v) == 0 && !strcmp(v.pre, "rc.1"), "pre-release kept, build dropped");
	static const char *const bad[] = { "1.0", "01.0.0", "1.0.0-", "1.0.0-01", "v1.0.0", "1.0.0+", "1.0.0 ", "", "1..0" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ok(oam_semver_parse(bad[i], &v) < 0, "'%s' is not a version", bad[i]);
	/* Precedence, semver.org §11. */
	static const char *const order[] = { "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
					     "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0",
					     "2.0.0", "10.0.0" };
	for (size_t i = 0; i + 1 < sizeof order / sizeof *order; i++)
		is_int(cmpv(order[i], order[i + 1]), -1, "%s < %s", order[i], order[i + 1]);
	is_int(cmpv("1.0.0+a", "1.0.0+b"), 0, "build metadata does not count");
}

static void ranges(void)
{
	static const struct {
		const char *v, *range;
		int want;
	} t[] = {
		{ "1.2.3", "1.2.3", 1 },      { "1.2.4", "1.2.3", 0 },       { "1.2.4", "^1.2.3", 1 },
		{ "1.9.0", "^1.2.3", 1 },     { "2.0.0", "^1.2.3", 0 },      { "1.2.2", "^1.2.3", 0 },
		{ "0.2.5", "^0.2.3", 1 },     { "0.3.0", "^0.2.3", 0 },      { "0.0.3", "^0.0.3", 1 },
		{ "0.0.4", "^0.0.3", 0 },     { "1.2.9", "~1.2.3", 1 },      { "1.3.0", "~1.2.3", 0 },
		{ "1.9.0", "~1", 1 },         { "2.0.0", "~1", 0 },          { "1.4.0", "1.x", 1 },
		{ "2.0.0", "1.x", 0 },        { "1.2.7", "1.2", 1 },         { "1.3.0", "1.2", 0 },
		{ "7.7.7", "*", 1 },          { "1.5.0", ">=1.0.0 <2.0.0", 1 },
		{ "2.0.0", ">=1.0.0 <2.0.0", 0 }, { "1.0.0", ">1.0.0", 0 },  { "1.0.1", ">1.0.0", 1 },
		{ "1.3.0", ">1.2", 1 },       { "1.2.9", ">1.2", 0 },        { "1.2.9", "<=1.2", 1 },
		{ "1.3.0", "<=1.2", 0 },      { "1.1.9", "<1.2", 1 },        { "1.2.0", "<1.2", 0 },
		{ "3.1.0", "^1.0.0 || ^3.0.0", 1 }, { "2.1.0", "^1.0.0 || ^3.0.0", 0 },
		{ "1.5.0", "1.2.3 - 1.9", 1 }, { "1.9.9", "1.2.3 - 1.9", 1 }, { "2.0.0", "1.2.3 - 1.9", 0 },
		{ "1.2.2", "1.2.3 - 1.9", 0 }, { "1.0.0", ">= 1.0.0", 1 },
		/* pre-releases only match a comparator with the same triple and a pre-release */
		{ "2.0.0-rc.1", "^1.0.0", 0 }, { "2.0.0-rc.1", "*", 0 },     { "1.2.3-rc.2", ">=1.2.3-rc.1", 1 },
		{ "1.2.4-rc.1", ">=1.2.3-rc.1", 0 }, { "1.2.3", ">=1.2.3-rc.1", 1 },
		/* errors */
		{ "1.0.0", "=> 1.0.0", -1 },  { "1.0.0", "^", -1 },          { "1.0.0", "1.x.3", -1 },
		{ "1.0.0", "abc", -1 },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		is_int(sat(t[i].v, t[i].range), t[i].want, "'%s' against '%s'", t[i].v, t[i].range);
}

static char tmpdir[] = "/tmp/oamlua-unit-pack.XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	mkdir(p, 0755);
	*slash = '/';
	ok(oam_pack_write_file(p, text, strlen(text), 0644) == 0, "write %s", rel);
}

static const char manifest[] = "name: unit\nversion: 1.0.0\ndescription: unit test pack\nmaintainers:\n"
			       "  - name: Test\noamlua: oamlua/v1\nmodules:\n  unit:\n    emits:\n"
			       "      - apiVersion: v1\n        kinds: [ConfigMap]\n";
static const char module[] = "return { apiVersion = \"oamlua/v1\", name = \"unit\", version = \"1.0.0\", "
			     "description = \"x\", render = function() end }\n";

static void archives(void)
{
	struct oam_pack_archive a, b, c;
	struct oam_diags d;
	char dir[1100];
	oam_diags_init(&d);
	ok(mkdtemp(tmpdir) != NULL, "temporary directory");
	snprintf(dir, sizeof dir, "%s/p", tmpdir);
	mkdir(dir, 0755);
	put("p/pack.yaml", manifest);
	put("p/traits/unit.lua", module);
	put("p/docs/unit.md", "# unit\n");
	put("p/.git-stuff", "hidden files stay out");
	put("p/unit-1.0.0.oampack", "built archives stay out");
	put("p/signing.key", "private keys stay out");

	oam_pack_archive_init(&a);
	oam_pack_archive_init(&b);
	is_int(oam_pack_archive_from_dir(&a, dir, &d), 0, "a directory becomes an archive");
	is_int(a.n, 3, "three files: pack.yaml, docs, module (hidden, archives and keys left out)");
	is_str(a.files[0].path, "docs/unit.md", "files sorted by path");
	ok(!strncmp(a.digest, "sha256:", 7) && strlen(a.digest) == 71, "digest is sha256:HEX");
	/* Same directory, same bytes; touching a file's time changes nothing. */
	char p[1200];
	snprintf(p, sizeof p, "%s/docs/unit.md", dir);
	chmod(p, 0600);
	is_int(oam_pack_archive_from_dir(&b, dir, &d), 0, "built again");
	ok(a.nbytes == b.nbytes && !memcmp(a.bytes, b.bytes, a.nbytes), "same directory, same bytes (modes ignored)");
	is_str(a.digest, b.digest, "same digest");

	oam_pack_archive_init(&c);
	is_int(oam_pack_archive_decode(&c, a.bytes, a.nbytes, "a", &d), 0, "the archive reads back");
	is_str(c.digest, a.digest, "and has the same digest");
	is_str(c.name, "unit", "name from the header");
	ok(oam_pack_archive_get(&c, "traits/unit.lua") && oam_pack_archive_get(&c, "traits/unit.lua")->len == strlen(module),
	   "module bytes intact");
	oam_pack_archive_release(&c);

	/* Tampering: one byte changed, cut short, extra bytes, reordered. */
	unsigned char *t = malloc(a.nbytes + 8);
	memcpy(t, a.bytes, a.nbytes);
	unsigned char *hit = (unsigned char *)strstr((char *)t, "# unit");
	hit[2] = 'U';
	size_t before = d.nerrors;
	oam_pack_archive_init(&c);
	ok(oam_pack_archive_decode(&c, t, a.nbytes, "t", &d) < 0 && d.nerrors > before, "a changed byte is refused");
	like(d.v[d.n - 1].msg, "does not match its sha256", "naming the file");
	oam_pack_archive_release(&c);
	hit[2] = 'u';
	oam_pack_archive_init(&c);
	ok(oam_pack_archive_decode(&c, t, a.nbytes - 5, "t", &d) < 0, "a truncated archive is refused");
	oam_pack_archive_release(&c);
	memcpy(t + a.nbytes, "more", 4);
	oam_pack_archive_init(&c);
	ok(oam_pack_archive_decode(&c, t, a.nbytes + 4, "t", &d) < 0, "trailing bytes are refused");
	like(d.v[d.n - 1].msg, "extra bytes", "and said so");
	oam_pack_archive_release(&c);
	oam_pack_archive_init(&c);
	ok(oam_pack_archive_decode(&c, (const unsigned char *)"not an archive\n", 15, "x", &d) < 0, "garbage is refused");
	oam_pack_archive_release(&c);
	free(t);

	/* A file changed on disk changes the digest. */
	put("p/docs/unit.md", "# unit, edited\n");
	oam_pack_archive_release(&b);
	oam_pack_archive_init(&b);
	oam_pack_archive_from_dir(&b, dir, &d);
	ok(strcmp(a.digest, b.digest) != 0, "an edited file gives another digest");

	/* Signatures. */
	char base[1200], keyfile[1200], pub[1200], id[17], id2[17], err[600], used[1200];
	struct oam_buf sig = { 0 };
	struct oam_pack_sig s;
	snprintf(base, sizeof base, "%s/k", tmpdir);
	snprintf(keyfile, sizeof keyfile, "%s/k.key", tmpdir);
	snprintf(pub, sizeof pub, "%s/k.pub", tmpdir);
	is_int(oam_pack_keygen(base, id, err, sizeof err), 0, "keygen");
	struct stat st;
	ok(stat(keyfile, &st) == 0 && (st.st_mode & 077) == 0, "the private key is readable by its owner only");
	ok(oam_pack_keygen(base, id2, err, sizeof err) < 0, "keygen never overwrites a key");
	is_int(oam_pack_sign(keyfile, a.digest, &sig, id2, err, sizeof err), 0, "sign");
	is_str(id2, id, "signed by the key's ID");
	is_int(oam_pack_sig_parse(sig.data, sig.len, &s, err, sizeof err), 0, "the signature file parses");
	is_int(oam_pack_sig_check(&s, a.digest, pub, err, sizeof err), 1, "good signature verifies");
	is_int(oam_pack_sig_check(&s, b.digest, pub, err, sizeof err), 0, "not for another digest");
	s.sig[3] ^= 1;
	is_int(oam_pack_sig_check(&s, a.digest, pub, err, sizeof err), 0, "a changed signature does not verify");
	like(err, "bad signature", "and says so");
	s.sig[3] ^= 1;
	const char *keys[] = { pub, NULL };
	is_int(oam_pack_sig_verify(&s, a.digest, keys, NULL, used, sizeof used, err, sizeof err), 1, "verify with a key list");
	char opub[1200];
	snprintf(base, sizeof base, "%s/other", tmpdir);
	oam_pack_keygen(base, id2, err, sizeof err);
	snprintf(opub, sizeof opub, "%s/other.pub", tmpdir);
	const char *both[] = { opub, pub, NULL };
	is_int(oam_pack_sig_verify(&s, a.digest, both, NULL, used, sizeof used, err, sizeof err), 1,
	       "the signer's key among others");
	is_str(used, pub, "found by its key ID");
	keys[0] = opub;
	is_int(oam_pack_sig_verify(&s, a.digest, keys, NULL, used, sizeof used, err, sizeof err), 0, "another key: refused");
	like(err, "not one of the keys given", "an unknown signer");
	ok(oam_pack_sig_parse("oamlua-signature/v1\nkey x\n", 26, &s, err, sizeof err) < 0, "a damaged signature file");
	ok(oam_pack_sign(manifest, a.digest, &sig, id2, err, sizeof err) < 0, "signing with a missing key file fails");
	oam_buf_release(&sig);

	/* The lock file: written, read back, sorted. */
	struct oam_lock l, r;
	char storedir[1200];
	snprintf(storedir, sizeof storedir, "%s/store", tmpdir);
	mkdir(storedir, 0755);
	oam_lock_init(&l);
	l.packs = calloc(2, sizeof *l.packs);
	l.n = l.cap = 2;
	struct oam_lock_file files[] = { { "pack.yaml", a.files[1].sha256 }, { "traits/unit.lua", a.files[2].sha256 } };
	struct oam_pack_dep deps[] = { { "base", "^1.0.0", 0, 0 } };
	l.packs[0] = (struct oam_lock_pack){ "zeta", "2.0.0-rc.1", a.digest, "", deps, 1, files, 2 };
	l.packs[1] = (struct oam_lock_pack){ "alpha", "1.0.0", b.digest, "0123456789abcdef", NULL, 0, files, 2 };
	is_int(oam_lock_write(&l, storedir, err, sizeof err), 0, "lock written");
	oam_lock_init(&r);
	is_int(oam_lock_read(&r, storedir, &d), 0, "lock read back");
	is_int(r.n, 2, "two packs");
	is_str(r.packs[0].name, "alpha", "sorted by name");
	is_str(r.packs[1].version, "2.0.0-rc.1", "versions kept as strings");
	is_str(r.packs[1].deps[0].range, "^1.0.0", "dependencies kept");
	is_str(r.packs[0].signer, "0123456789abcdef", "signer kept");
	is_str(r.packs[1].files[1].sha256, a.files[2].sha256, "file digests kept");
	oam_lock_release(&r);
	free(l.packs);
	l.packs = NULL;
	oam_lock_release(&l);

	oam_pack_archive_release(&a);
	oam_pack_archive_release(&b);
	oam_diags_release(&d);
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	ok(system(cmd) == 0, "clean up");
}

int main(void)
{
	versions();
	ranges();
	archives();
	return done_testing();
}
