/*
 * hk.h: what every lib/ module shares: the error codes.
 *
 * lib/ functions return 0 (HK_OK) or a negative HK_E* code and never log,
 * print or exit; the caller decides what an error means and logs it once.
 * hk_strerror() gives the text of a code. HK_AGAIN ("not yet") is not a
 * failure.
 */
#ifndef HK_H
#define HK_H

#include <stddef.h>

#define HK_OK 0
#define HK_ERR -1 /* unspecified failure */
#define HK_AGAIN -2 /* not yet; try later */
#define HK_ENOMEM -3 /* out of memory */
#define HK_EINVAL -4 /* malformed input */
#define HK_ENOTFOUND -5 /* no such record */
#define HK_EEXIST -6 /* a record with that key exists */
#define HK_EFULL -7 /* the store's map is (nearly) full */
#define HK_EIO -8 /* the disk refused */
#define HK_EDUP -9 /* duplicate idempotency key */
#define HK_ESIGMISSING -10 /* no signature where one is required */
#define HK_ESIG -11 /* signature does not match */
#define HK_ESTALE -12 /* timestamp outside the tolerance */
#define HK_ESHUTDOWN -13 /* the store is closing */
#define HK_ECRYPTO -14 /* a sealed value did not open */
#define HK_EFENCED -15 /* this node no longer holds the lease */

const char *hk_strerror(int);

#define HK_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
