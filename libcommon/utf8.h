/*
 * utf8.h - the one check that bytes are well-formed UTF-8.
 */
#ifndef POSTERN_UTF8_H
#define POSTERN_UTF8_H

#include <stddef.h>

/*
 * 1 if the len bytes at s are well-formed UTF-8 (RFC 3629 section 4,
 * Unicode's table 3-7), else 0. Refused: bytes that never occur (0xC0,
 * 0xC1, 0xF5..0xFF), a continuation byte where a sequence should start,
 * a sequence cut short, an overlong form, an encoded surrogate
 * (U+D800..U+DFFF) and anything above U+10FFFF.
 */
int	utf8_valid(const void *s, size_t len);

#endif
