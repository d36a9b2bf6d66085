/*
 * fuzz.h - what every fuzz target in tests/fuzz shares: the libFuzzer
 * entry points and a check that aborts (so that libFuzzer, and the plain
 * regression runner, report it as a crash) even where NDEBUG is set.
 *
 * Targets are test code: they run the parsers on bytes chosen by the
 * fuzzer, in one process, with no privilege and no I/O beyond scratch
 * memory files.
 */
#ifndef POSTERN_FUZZ_H
#define POSTERN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* An invariant of the parser under test does not hold: that is a bug. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
