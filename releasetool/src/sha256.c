/* SHA-256 sums as lower-case hex, by libsodium. */
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* clang-format off: banned.h stays last (STYLE.md §10) */
#include "molt/banned.h"
/* clang-format on */

void molt__sha256_init(molt__sha256 *h)
{
	crypto_hash_sha256_init(&h->st);
}

void molt__sha256_update(molt__sha256 *h, const void *data, size_t len)
{
	crypto_hash_sha256_update(&h->st, data, len);
}

void molt__sha256_final(molt__sha256 *h, char out[MOLT__SHA256_HEX])
{
	unsigned char sum[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_final(&h->st, sum);
	sodium_bin2hex(out, MOLT__SHA256_HEX, sum, sizeof(sum));
}

void molt__sha256_hex(char out[MOLT__SHA256_HEX], const void *data, size_t len)
{
	molt__sha256 h;

	molt__sha256_init(&h);
	molt__sha256_update(&h, data, len);
	molt__sha256_final(&h, out);
}

int molt__sha256_file(char out[MOLT__SHA256_HEX], const char *path,
		      molt_err *err)
{
	unsigned char buf[65536];
	molt__sha256 h;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return molt_err_set(err, MOLT_EIO, "open '%s': %s", path,
				    strerror(errno));
	molt__sha256_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return molt_err_set(err, MOLT_EIO, "read '%s': %s",
					    path, strerror(errno));
		}
		molt__sha256_update(&h, buf, (size_t)n);
	}
	close(fd);
	molt__sha256_final(&h, out);
	return MOLT_OK;
}
