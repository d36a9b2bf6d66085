/*
 * pop3_capa.c - CAPA's answer (RFC 2449), the same before and after the
 * login but for what the session may still do. Its own file: both the
 * login process and pop3d-mail answer CAPA, and pop3d-mail must link
 * none of the login process's code (its TLS).
 */
#include "netio.h"
#include "pop3d.h"

void
pop3_capa(struct netio *io, int logins, int stls)
{
	netio_printf(io, "+OK capability list follows\r\n");
	netio_printf(io, "TOP\r\n");
	if (logins)
		netio_printf(io, "USER\r\n");
	if (stls)
		netio_printf(io, "STLS\r\n");
	netio_printf(io, "UIDL\r\n");
	netio_printf(io, "RESP-CODES\r\n");
	netio_printf(io, "PIPELINING\r\n");
	netio_printf(io, "AUTH-RESP-CODE\r\n");
	if (logins)
		netio_printf(io, "SASL PLAIN\r\n");
	netio_printf(io, "IMPLEMENTATION Postern\r\n");
	netio_printf(io, ".\r\n");
}
