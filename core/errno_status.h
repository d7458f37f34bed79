/* SPDX-License-Identifier: MIT */
/* Translation of operating system errors into libhexz result codes. */
#ifndef HEXZ_CORE_ERRNO_STATUS_H
#define HEXZ_CORE_ERRNO_STATUS_H

/* The enum hexz_status value that describes errno value `err`. */
int hexz_status_from_errno(int err);

#endif /* HEXZ_CORE_ERRNO_STATUS_H */
