// Schedule tuning: time every compiled variant of every distinct stage of a network on this
// machine and keep the fastest (what `ae2d tune` does).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ae2d/model.h"
#include "ae2d/schedule.h"

namespace ae2d {

struct TuneOptions {
    // A hard limit on the measuring, all stages together: stages that its rest cannot give
    // min_rounds keep their current variant (TunedStage::measured false).
    double budget_seconds = 300;
    int min_rounds = 3;   // timed calls per variant of a measured stage, at least
    int max_rounds = 15;  // and at most
    // A variant replaces the model's current choice only if its median is this much faster;
    // smaller differences are noise on a shared machine, and the current choice stays.
    double min_gain = 0.03;
    // Called after each distinct stage: (stages done, stages in all, the stage's key).
    std::function<void(size_t, size_t, const std::string &)> progress;
};

struct TunedStage {
    ScheduleEntry key;                  // the stage's shape; key.variant is the winner
    int occurrences = 0;                // stages of the network with this key
    std::string shipped_variant;        // the model's current choice
    bool measured = false;              // false: the budget was spent first, the choice is kept
    double shipped_ms = 0, tuned_ms = 0;  // medians of one call (measured stages)
    std::vector<std::pair<std::string, double>> median_ms;  // every variant timed
    int rounds = 0;
};

struct TuneResult {
    ScheduleTable table;  // one line per distinct stage, in network order
    std::vector<TunedStage> stages;
};

// Tunes `model`'s stages for inputs of `input_shape` (B, C, H, W), starting from model.schedule().
// The inputs are uniform random (fixed seed); stages run in network order on real activations.
Expected<TuneResult> tune(const Model &model, const std::vector<int64_t> &input_shape, const TuneOptions &options);
// Tunes for each of `input_shapes` in turn, the budget split evenly between them, and merges
// the results: one line per distinct stage shape, the first shape's measurement where two
// shapes share a stage. A table tuned on a spread of sizes covers the sizes between them
// (a stage with no line of its own takes the nearest measured one).
Expected<TuneResult> tune(const Model &model, const std::vector<std::vector<int64_t>> &input_shapes,
                          const TuneOptions &options);
// The spread `ae2d tune` measures when no input shape is given: four sizes from 96 x 128 to
// 384 x 512, non-square and odd among them, one at batch 2, with `channels` input planes.
std::vector<std::vector<int64_t>> default_tune_shapes(int64_t channels);

// The per-user tune cache, as FFTW's wisdom: `ae2d tune --model M` without --output stores its
// table here, and Model::load (CPU backend) runs every model of the same configuration on this
// CPU target with it instead of the shipped table. The directory is $AE2D_TUNE_CACHE, else
// $XDG_CACHE_HOME/ae2d/tune, else $HOME/.cache/ae2d/tune; AE2D_TUNE_CACHE=off turns the cache
// off. The file is <directory>/<target>/<configuration>.txt, e.g.
// x86-64-avx2/UNet2d_c24_l2-2_plain_k3x3_i1_o1.txt; "" when the cache is off or has no directory.
std::string tune_cache_path(const Config &config, const std::string &target);
// Writes a table (in the text format of ae2d/schedule.h) to the cache entry of (config, target),
// making its directories; the table must parse and name `target`.
Status store_in_tune_cache(const std::string &table_text, const Config &config, const std::string &target);

}  // namespace ae2d
