/*
 * gmp_direct: the physical limit of F(n) as a decimal string on this machine,
 * GMP called directly with no database in the way: mpz_fib_ui followed by
 * mpz_get_str, repeated, printing the median time of one call in
 * microseconds.
 *
 * usage: gmp_direct N [SECONDS]
 */
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
compare_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	unsigned long n;
	double		budget_us;
	double		start;
	double	   *samples;
	size_t		count = 0;
	size_t		capacity = 1 << 20;
	mpz_t		f;

	if (argc < 2)
	{
		fprintf(stderr, "usage: %s N [SECONDS]\n", argv[0]);
		return 2;
	}
	n = strtoul(argv[1], NULL, 10);
	budget_us = (argc > 2 ? atof(argv[2]) : 2.0) * 1e6;
	samples = malloc(capacity * sizeof(double));
	mpz_init(f);

	start = now_us();
	while (count < capacity && (now_us() - start < budget_us || count < 5))
	{
		double		t0 = now_us();
		char	   *s;

		mpz_fib_ui(f, n);
		s = mpz_get_str(NULL, 10, f);
		samples[count++] = now_us() - t0;
		free(s);
	}
	qsort(samples, count, sizeof(double), compare_double);
	printf("%.2f\n", samples[count / 2]);
	mpz_clear(f);
	free(samples);
	return 0;
}
