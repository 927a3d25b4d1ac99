# Every AOT stage library: ae2d_add_cpu_stage(<library> <generator> [params]).
ae2d_add_cpu_stage(ae2d_residual_add residual_add)
