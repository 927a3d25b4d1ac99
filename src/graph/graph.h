// The compute graph: stages (one AOT kernel call each) over values (activations and
// instance-norm coefficients), with the PyTorch parameters each stage reads by state_dict key.
// Built once per configuration (builder.h); shapes are inferred per input size (shapes.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ae2d/config.h"

namespace ae2d::graph {

enum class StageKind {
    Conv2d,                   // conv (+ bias)
    InstanceNormStats,        // per-(c, n) scale and shift of an InstanceNorm2d
    NormPReLU,                // prelu(x * scale + shift)
    UpsampleBilinear,         // x2 (or x1) per axis, align_corners=True
    NormPReLUUpsample,        // fused: upsample(prelu(norm(x)))
    ResidualAdd,              // a + b
    NormResidualAdd,          // fused: a + norm(b), a block with a projection shortcut
    CenterCrop,               // crop to the spatial size of a recorded encoder value
    NormPReLUConv2d,          // fused: conv(prelu(norm(x)))
    NormPReLUUpsampleConv2d,  // fused: conv(upsample(prelu(norm(x))))
    CropConcat,               // UNet2d's join: both inputs center-cropped to a common size, concatenated
    NormInverse,              // (x - shift) / scale: a plane's statistics put back (output modes)
};
const char *stage_kind_name(StageKind kind);

// An activation (n, c, h, w) or the coefficients of an instance norm (2 x c x n floats:
// all scales, then all shifts).
enum class ValueKind { Activation, NormCoeffs };

struct Shape4 {
    int64_t n = 0, c = 0, h = 0, w = 0;
    int64_t numel() const { return n * c * h * w; }
    bool operator==(const Shape4 &o) const { return n == o.n && c == o.c && h == o.h && w == o.w; }
};

struct Value {
    ValueKind kind = ValueKind::Activation;
    std::string name;  // for messages and the graph dump
    Shape4 shape;      // filled by shape inference; NormCoeffs use n and c only
    // A value stored in place inside another (join_in_place): channels [channel_offset,
    // channel_offset + c) of value `part_of`, which has the same n, h and w.
    int part_of = -1;
    int64_t channel_offset = 0;
    int64_t numel() const { return kind == ValueKind::NormCoeffs ? 2 * shape.n * shape.c : shape.numel(); }
};

struct Stage {
    StageKind kind = StageKind::Conv2d;
    std::string module;       // PyTorch module path, e.g. "conv_down_list.0.conv_scale.conv2"
    std::vector<int> inputs;  // value ids in kernel argument order: activations, then coefficients
    int output = -1;
    // state_dict keys of the parameters the stage reads; empty when unused.
    std::string weight, bias;  // convolution
    std::string gamma, beta;   // instance-norm affine (InstanceNormStats)
    std::string slope;         // PReLU
    int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
    int factor_h = 1, factor_w = 1;  // up-sampling
    int crop_ref = -1;               // CenterCrop: the value whose spatial size to crop to
};

struct ParamSpec {
    std::string name;  // state_dict key
    std::vector<int64_t> shape;
};

// One row of the torchsummary table: a module, in forward-hook completion order.
struct SummaryRow {
    std::string module_class;  // "Conv2d", "_BlockBottleneckNd", ...
    int value;                 // a value with the module's output shape
    int64_t params;
    int second_value = -1;     // a module with two outputs (a UNet2d encoder stack's skip tensor): its own line
};

struct Graph {
    Config config;
    std::vector<Value> values;
    std::vector<Stage> stages;  // in execution order
    std::vector<ParamSpec> params;
    std::vector<SummaryRow> rows;
    int input = -1, output = -1;

    int64_t num_parameters() const;
    // Appends a value (unshaped) and returns its id.
    int add_value(ValueKind kind, std::string name);
    // Makes every stage (and the graph output) that reads value `from` read `to`.
    void replace_reads(int from, int to);
};

}  // namespace ae2d::graph
