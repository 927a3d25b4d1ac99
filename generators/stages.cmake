# Every AOT stage library: ae2d_add_stage(<library> <generator> [params]) (CPU, and GPU with AE2D_GPU).
ae2d_add_stage(ae2d_residual_add residual_add)
ae2d_add_stage(ae2d_conv2d conv2d bias=false)
ae2d_add_stage(ae2d_conv2d_bias conv2d bias=true)
ae2d_add_stage(ae2d_norm_prelu_conv2d norm_prelu_conv2d)
ae2d_add_stage(ae2d_norm_prelu_upsample_conv2d norm_prelu_upsample_conv2d)
ae2d_add_stage(ae2d_instance_norm_stats instance_norm_stats)
ae2d_add_stage(ae2d_norm_prelu norm_prelu)
ae2d_add_stage(ae2d_upsample_bilinear upsample_bilinear)
ae2d_add_stage(ae2d_norm_prelu_upsample norm_prelu_upsample)
ae2d_add_stage(ae2d_norm_residual_add norm_residual_add)
ae2d_add_stage(ae2d_center_crop center_crop)
# The FMA yardstick of `ae2d bench` (CPU only).
ae2d_add_cpu_stage(ae2d_fma_peak fma_peak)
