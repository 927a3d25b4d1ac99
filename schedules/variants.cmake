# Named AOT variants of the convolution stages: each is the stage's generator with these
# ConvTuning parameters (schedules/conv_schedule.h), for every conv generator or only those
# AE2D_CONV_VARIANT_<name>_GENERATORS lists. "manual" (the defaults) and "auto" (Adams2019)
# are always built; the tables in schedules/tuned/ and `ae2d tune` choose among all of them per
# stage shape at run time. Every variant costs a full conv compile for each CPU target, so the
# list is short: each entry is a different trade-off the defaults do not make.
#   co4    4 output channels per register tile (8 accumulators): 16 and 32 channels waste 2 of 18
#          and 4 of 36 channel slots with 6-channel tiles, none with 4.
#   strip4 4 output rows per parallel task and 8 channel blocks per group: smaller per-task source
#          strips (L2) on wide planes, more tasks on small ones.
#   rows2  register tiles of 2 rows x 1 vector instead of 1 row x 2 vectors (same 12
#          accumulators): 8-column tiles on narrow planes.
#   wino   Winograd F(4x4, 3x3) (schedules/winograd_schedule.h): 4x fewer multiplies for 3x3
#          stride-1 convolutions; the runtime runs it only on those (manual elsewhere). It takes
#          the packed transformed weights (made once per tensor, 4x the 3x3 weights), which it
#          re-reads per tile row, so it loses on small planes with many channels.
#   wplane Winograd with the products run one (ex, ey) at a time over the whole plane, so that
#          each transformed weight is read from cache for every tile rather than from memory
#          per tile row (wino): for small planes with many channels (measured, 512 -> 512 at
#          64 x 64, 2 threads: 83 ms against 168 for wino).
#   wcvec  wplane with vectors along output channels (schedule_winograd_channels) for planes of
#          fewer tiles than a vector has lanes: 16 x 16 and 8 x 8 outputs (measured, 512 -> 512
#          at 16 x 16: 4.4 ms against 5.4 for wplane and 6.9 for the direct conv).
#   w2cvec wcvec with F(2x2, 3x3): 16 multiplies per tile and channel pair instead of 36, with
#          transformed weights 16/9 of the 3x3 ones instead of 4x, for planes so small and deep
#          that streaming F(4x4)'s weights costs more than its multiplies save (1024 channels at
#          8 x 8: 151 MB per call).
#   cvec   vectors along output channels (schedule_conv_channels in conv_schedule.h) for planes
#          narrower than a vector: 4 x 4 planes fill half of each AVX2 vector along x. It takes
#          the weights packed in blocks of 16 output channels, made once per tensor. For the
#          up-sampling stage it also changes the order of the sums: each tap's products run at the
#          source's resolution, then their up-sampled sum (ops::upsample_conv_at_source): 4x fewer
#          multiplies than the direct conv, no transforms, the weights as they are, not packed.
#          Its products are vectors along the source plane read as one row (1024 channels at
#          8 x 8: 2.8 ms against 6.5 for w2cvec; 512 at 16 x 16: 2.7 against 4.4 for wcvec).
#   srows  the up-sampling stage only (AE2D_CONV_VARIANT_srows_GENERATORS): cvec's products at the
#          source's resolution, along each source row, and their sum with vectors along x
#          (ops::upsample_conv_at_source_rows) for sources at least a vector wide, where cvec's
#          sum, vectors along channels stored one element at a time, costs more than its
#          products save (128 channels from 32 x 32: 2.8 ms against 9.6 for cvec, 5.1 for
#          wino; 256 from 64 x 64: 34.7 against 51.9 for wplane).
set(AE2D_CONV_VARIANTS co4 strip4 rows2 wino wplane wcvec w2cvec cvec srows)
set(AE2D_CONV_VARIANT_co4 co_block=4)
set(AE2D_CONV_VARIANT_strip4 strip_rows=4 group_blocks=8)
set(AE2D_CONV_VARIANT_rows2 tile_rows=2 vectors_x=1)
set(AE2D_CONV_VARIANT_wino winograd=true)
set(AE2D_CONV_VARIANT_wplane winograd=true winograd_plane=true)
set(AE2D_CONV_VARIANT_wcvec winograd=true winograd_plane=true channel_vectorized=true)
set(AE2D_CONV_VARIANT_w2cvec winograd=true winograd_plane=true channel_vectorized=true winograd_tile=2)
set(AE2D_CONV_VARIANT_cvec channel_vectorized=true)
set(AE2D_CONV_VARIANT_srows source_rows=true)
set(AE2D_CONV_VARIANT_srows_GENERATORS norm_prelu_upsample_conv2d)
