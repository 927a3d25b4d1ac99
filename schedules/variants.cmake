# The compiled variants of the convolution stages, one row each: the generator parameters
# (ConvTuning in schedules/conv_schedule.h), the weights it takes (PACKING, made once per weight
# tensor by src/runtime/packed_weights.cpp; default: as they are), the stage shapes it runs (RUNS;
# default: every shape) and, if not every conv generator, the GENERATORS it is built for.
# "manual" (the defaults) and "auto" (Adams2019) are built for every stage besides these. The
# build generates the runtime's variant registry (ae2d_stage_variants.h) from these rows, so a
# variant is added here and nowhere else; docs/schedules.md says what each is for. Every row
# costs a conv compile per CPU target, so each is a trade-off the defaults do not make:
#   co4     4 output channels per register tile: no wasted slots at 16 and 32 channels.
#   strip4  4 output rows per parallel task: L2-sized source strips on wide planes.
#   rows2   register tiles of 2 rows x 1 vector: 8-column tiles on narrow planes.
#   wino    Winograd F(4x4, 3x3): 4x fewer multiplies on 3x3 stride-1 convs.
#   wplane  wino one transformed position at a time over the plane: small planes, many channels
#           (512 -> 512 at 64 x 64: 83 ms against 168 for wino).
#   wcvec   wplane with vectors along output channels: planes of a vector or two of tiles.
#   w2cvec  wcvec with F(2x2, 3x3): planes so small and deep that F(4x4)'s weights cost more
#           than its multiplies save.
#   cvec    the direct conv with vectors along output channels: planes narrower than a vector.
#   scvec   the up-sampling conv's products at the source's resolution (4x fewer multiplies),
#           summed with vectors along channels: sources narrower than two vectors.
#   srows   the same products along source rows, summed with vectors along x: wider sources
#           (128 channels from 32 x 32: 2.8 ms against 9.6 for scvec).
set(AE2D_CONV_VARIANTS "")
function(ae2d_conv_variant NAME)
  cmake_parse_arguments(ARG "" "PACKING;RUNS" "PARAMS;GENERATORS" ${ARGN})
  set(AE2D_CONV_VARIANTS ${AE2D_CONV_VARIANTS} ${NAME} PARENT_SCOPE)
  set(AE2D_CONV_VARIANT_${NAME} ${ARG_PARAMS} PARENT_SCOPE)
  set(AE2D_CONV_VARIANT_${NAME}_GENERATORS ${ARG_GENERATORS} PARENT_SCOPE)
  if (NOT ARG_PACKING)
    set(ARG_PACKING AsIs)
  endif ()
  if (NOT ARG_RUNS)
    set(ARG_RUNS AnyShape)
  endif ()
  set(AE2D_CONV_VARIANT_${NAME}_PACKING ${ARG_PACKING} PARENT_SCOPE)
  set(AE2D_CONV_VARIANT_${NAME}_RUNS ${ARG_RUNS} PARENT_SCOPE)
endfunction()

set(_direct conv2d norm_prelu_conv2d)
ae2d_conv_variant(co4    PARAMS co_block=4)
ae2d_conv_variant(strip4 PARAMS strip_rows=4 group_blocks=8)
ae2d_conv_variant(rows2  PARAMS tile_rows=2 vectors_x=1)
ae2d_conv_variant(wino   PARAMS winograd=true
                  PACKING Winograd RUNS Winograd3x3)
ae2d_conv_variant(wplane PARAMS winograd=true winograd_plane=true
                  PACKING Winograd RUNS Winograd3x3)
ae2d_conv_variant(wcvec  PARAMS winograd=true winograd_plane=true channel_vectorized=true
                  PACKING Winograd RUNS Winograd3x3)
ae2d_conv_variant(w2cvec PARAMS winograd=true winograd_plane=true channel_vectorized=true winograd_tile=2
                  PACKING Winograd2x2 RUNS Winograd3x3)
ae2d_conv_variant(cvec   PARAMS channel_vectorized=true
                  PACKING ChannelBlocked GENERATORS ${_direct})
ae2d_conv_variant(scvec  PARAMS channel_vectorized=true
                  GENERATORS norm_prelu_upsample_conv2d)
ae2d_conv_variant(srows  PARAMS source_rows=true
                  RUNS UpsampleBy2AlongX GENERATORS norm_prelu_upsample_conv2d)
