/*
 * deliverd.h - deliverd's private interfaces: the local transport.
 */
#ifndef POSTERN_DELIVERD_H
#define POSTERN_DELIVERD_H

#include <stddef.h>

#include "proto.h"

/*
 * Delivers the message in fd (LF line endings; exactly the bytes
 * [j->offset, j->offset + j->size), a shorter file is ST_TEMP) to
 * the Maildir of j->rcpt under store, with Return-Path and Delivered-To
 * prepended. Always fills res: ST_OK, ST_TEMP (retry: nothing was
 * delivered) or ST_PERM (among them "5.4.6 mail forwarding loop" for a
 * message that already has that Delivered-To). On success where holds
 * the new file's path.
 */
void	local_deliver(const char *store, const struct d_job *j, int fd,
	    struct d_result *res, char *where, size_t wheresz);

#endif
