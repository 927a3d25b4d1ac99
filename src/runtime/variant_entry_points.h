// The variant registry's rows with their typed AOT entry points (k_<stage>[], indexed as
// stage_variant_names), for the code that calls the stages. Includes every stage's header.
#pragma once

#include "ae2d_stage_variants.h"
#include "runtime/variant_registry.h"

namespace ae2d::runtime {

template<typename Fn>
struct Variant {
    VariantInfo info;
    Fn fn;
};

// Every stage library, once: the registry's tables, their names and the GPU kernel sets are all
// made from it, in this order.
#define AE2D_FOR_EACH_STAGE(X)                                                                        \
    X(conv2d) X(conv2d_bias) X(norm_prelu_conv2d) X(norm_prelu_upsample_conv2d) X(instance_norm_stats) \
        X(norm_prelu) X(norm_prelu_upsample) X(upsample_bilinear) X(residual_add) X(norm_residual_add)  \
            X(center_crop) X(crop_concat) X(norm_inverse)

// k_<stage>[]: the stage's variants, manual (kManualVariant) and auto (kAutoVariant) first.
#define AE2D_VARIANT_ROW(name, fn, packing, runs) \
    Variant<decltype(&fn)>{{#name, WeightPacking::packing, VariantShapes::runs}, &fn},
#define AE2D_STAGE_VARIANTS(stage) \
    inline const Variant<decltype(&ae2d_##stage)> k_##stage[] = {AE2D_VARIANTS_##stage(AE2D_VARIANT_ROW)};
AE2D_FOR_EACH_STAGE(AE2D_STAGE_VARIANTS)
#undef AE2D_STAGE_VARIANTS
#undef AE2D_VARIANT_ROW

}  // namespace ae2d::runtime
