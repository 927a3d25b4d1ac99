// Schedule tables: which compiled variant of each stage runs, by stage kind and shape.
//
// Every stage is compiled ahead of time in several variants: "manual" (the hand-written
// schedule), "auto" (Halide's Adams2019 autoscheduler) and, for the convolutions, a few
// alternative tilings ("co4", "strip4", "rows2", "cvec") and Winograd ("wino", "wplane",
// "wcvec", "w2cvec"; see schedules/variants.cmake). The GPU backends have "manual" and "auto"
// (Anderson2021) only; other variants run "manual" there. A table maps a stage shape to a
// variant; the first matching line wins, and stages that match no line run
// the table's default variant. The text format (one stage per line, '#' starts a comment):
//
//   target x86-64-avx2          (optional: the CPU the table was tuned on)
//   default manual              (optional: the variant of unlisted stages, "manual" if absent)
//   # stage            kernel step in  out batch height width variant
//   norm_prelu_conv2d  3x3    s1x1 64  64  1     256    256   co4
//
// kernel is KHxKW, step is sSHxSW (conv stride) or uFHxFW (up-sampling factor), height and width
// are the output's; "-" marks a field the stage does not have, "*" in any shape field matches
// every value. `ae2d tune` writes these tables; schedules/tuned/<target>.txt are the shipped ones.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ae2d/status.h"

namespace ae2d {

// One line of a table; as a lookup key, every field is set.
struct ScheduleEntry {
    static constexpr int64_t kAny = -1;   // "*"
    static constexpr int64_t kNone = -2;  // "-": the stage has no such field
    std::string stage;                    // the stage's library: conv2d, norm_prelu_conv2d, ...
    int64_t kernel_h = kAny, kernel_w = kAny;
    char step_kind = 's';                 // 's' stride, 'u' up-sampling factor
    int64_t step_h = kAny, step_w = kAny;
    int64_t in_channels = kAny, out_channels = kAny, batch = kAny, height = kAny, width = kAny;
    std::string variant;

    bool matches(const ScheduleEntry &key) const;
    std::string key_text() const;  // the line without the variant
};

class ScheduleTable {
public:
    std::string name = "manual";       // how it was chosen: manual, auto, tuned (<target>), or a file
    std::string target;                // the "target" line, empty if none
    std::string default_variant = "manual";
    std::vector<ScheduleEntry> entries;

    // Every stage's hand-written schedule; every stage autoscheduled (Adams2019, on a GPU Anderson2021).
    static ScheduleTable manual();
    static ScheduleTable automatic();
    // The table shipped for a target (schedules/tuned/<target>.txt, compiled in); a target
    // without one gets an empty table (manual everywhere).
    static ScheduleTable shipped(const std::string &target);
    // Parses a table; errors name `source` and the line.
    static Expected<ScheduleTable> parse(const std::string &text, const std::string &source);
    static Expected<ScheduleTable> load(const std::string &path);
    // "manual", "auto", "tuned" (the shipped table of this CPU) or a table file.
    static Expected<ScheduleTable> from_spec(const std::string &spec);

    // The variant for a stage (a key with every field set).
    const std::string &variant_for(const ScheduleEntry &key) const;
    std::string to_text() const;
};

// The CPU variant that runs here, as a table target: x86-64-avx512, x86-64-avx2, x86-64-sse41,
// arm64-neon (the one Halide's multi-target dispatch picks). The environment variable
// AE2D_CPU_TARGET, read at startup, may name a lower x86 variant, which then runs instead (to
// test or tune SSE4.1 or AVX2 code on a newer CPU); a variant this CPU cannot run is ignored.
std::string cpu_target();
// Whether `variant` runs stages of shape `key` ("*" fields match anything): the Winograd ones
// ("wino", "wplane", "wcvec", "w2cvec") need a 3x3 kernel at stride 1 or after up-sampling;
// "srows" (built for the up-sampling stage only) up-sampling by 2 along x; every other variant
// runs every shape. A table that names one for a stage it cannot run (through "*") runs
// "manual" there.
bool variant_applies(const std::string &variant, const ScheduleEntry &key);
// Whether `variant` is a Winograd one ("wino", "wplane", "wcvec", "w2cvec"): these take the
// packed transformed weights (made once per weight tensor) instead of the 3x3 weights.
bool is_winograd_variant(std::string_view variant);
// Whether `variant` is the channel-vectorized one ("cvec"): it takes the weights packed in blocks
// of 16 output channels (made once per weight tensor), except on the up-sampling stage, whose
// cvec (products at the source's resolution) takes them as they are.
bool is_channel_vectorized_variant(std::string_view variant);
// Stages with compiled variants, and the variants of one stage (empty for an unknown stage).
std::vector<std::string> schedule_stages();
std::vector<std::string> schedule_variants(const std::string &stage);

}  // namespace ae2d
