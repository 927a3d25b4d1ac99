// The per-user tune cache (include/ae2d/tune.h): where an entry lives and how Model::load reads it.
#pragma once

#include <optional>
#include <string>

#include "ae2d/config.h"
#include "ae2d/schedule.h"

namespace ae2d {

// The cache's table for (config, target), or nothing: no cache, no entry, or an entry that
// cannot serve. In the last case `warning` says which file was ignored and why (unreadable,
// malformed, or tuned for another target), so that a corrupt or stale entry never stops a load.
std::optional<ScheduleTable> load_from_tune_cache(const Config &config, const std::string &target,
                                                  std::string &warning);

}  // namespace ae2d
