/* Binds the programs' calls of symbols that glibc re-versioned after 2.34 to their older versions. */
__asm__(".symver drover_hypot_2_2_5, hypot@GLIBC_2.2.5");
double drover_hypot_2_2_5(double x, double y);
double __wrap_hypot(double x, double y) { return drover_hypot_2_2_5(x, y); }
