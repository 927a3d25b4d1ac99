# Every AOT stage library: ae2d_add_stage(<library> <generator> [TUNABLE] [params]): the CPU
# libraries (manual and Adams2019 schedules; TUNABLE stages also in every conv variant of
# schedules/variants.cmake) and, with AE2D_GPU, the OpenCL and CUDA ones.
ae2d_add_stage(ae2d_residual_add residual_add)
ae2d_add_stage(ae2d_conv2d conv2d TUNABLE bias=false)
ae2d_add_stage(ae2d_conv2d_bias conv2d TUNABLE bias=true)
ae2d_add_stage(ae2d_norm_prelu_conv2d norm_prelu_conv2d TUNABLE)
ae2d_add_stage(ae2d_norm_prelu_upsample_conv2d norm_prelu_upsample_conv2d TUNABLE)
ae2d_add_stage(ae2d_instance_norm_stats instance_norm_stats)
ae2d_add_stage(ae2d_norm_prelu norm_prelu)
ae2d_add_stage(ae2d_upsample_bilinear upsample_bilinear)
ae2d_add_stage(ae2d_norm_prelu_upsample norm_prelu_upsample)
ae2d_add_stage(ae2d_norm_residual_add norm_residual_add)
ae2d_add_stage(ae2d_center_crop center_crop)
ae2d_add_stage(ae2d_crop_concat crop_concat)
ae2d_add_stage(ae2d_norm_inverse norm_inverse)
# The FMA yardstick of `ae2d bench` (CPU only).
ae2d_add_tool_stage(ae2d_fma_peak fma_peak)
# The packed weights of the conv stages' Winograd variants, made once per weight tensor (CPU only).
ae2d_add_tool_stage(ae2d_winograd_weights winograd_weights tile=4)
ae2d_add_tool_stage(ae2d_winograd2_weights winograd_weights tile=2)
# The channel-blocked weights of the conv stages' "cvec" variant, made once per tensor (CPU only).
ae2d_add_tool_stage(ae2d_channel_blocked_weights channel_blocked_weights)
