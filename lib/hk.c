/* hk.c: error texts. */
#include "hk.h"

const char *
hk_strerror(int code)
{
	switch (code) {
	case HK_OK:
		return "success";
	case HK_AGAIN:
		return "try again";
	case HK_ENOMEM:
		return "out of memory";
	case HK_EINVAL:
		return "invalid argument";
	case HK_ENOTFOUND:
		return "not found";
	case HK_EEXIST:
		return "already exists";
	case HK_EFULL:
		return "store is full";
	case HK_EIO:
		return "i/o error";
	case HK_EDUP:
		return "duplicate";
	case HK_ESIGMISSING:
		return "signature missing";
	case HK_ESIG:
		return "signature does not match";
	case HK_ESTALE:
		return "timestamp out of tolerance";
	case HK_ESHUTDOWN:
		return "shutting down";
	case HK_ECRYPTO:
		return "cannot decrypt";
	case HK_EFENCED:
		return "the lease is held by another node";
	default:
		return "error";
	}
}
