// Schedule tables: parsing, formatting, lookup, the shipped tables and this CPU's target name.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "runtime/schedule_table.h"
#include "runtime/schedule_policy.h"
#include "runtime/variant_registry.h"

namespace ae2d {

namespace {

// schedules/tuned/<target>.txt, embedded by the build: {target, text}.
struct ShippedTable {
    const char *target;
    const char *text;
};
const ShippedTable kShippedTables[] = {
#include "shipped_schedules.inc"
    {nullptr, nullptr}};

constexpr int64_t kAny = ScheduleEntry::kAny, kNone = ScheduleEntry::kNone;

std::string field_text(int64_t v) { return v == kAny ? "*" : v == kNone ? "-" : std::to_string(v); }

std::string pair_text(int64_t a, int64_t b) {
    if (a == kNone && b == kNone) return "-";
    return field_text(a) + "x" + field_text(b);
}

// A count: a positive integer, "*" or "-".
bool parse_field(const std::string &s, int64_t &out) {
    if (s == "*") return out = kAny, true;
    if (s == "-") return out = kNone, true;
    if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    out = std::stoll(s);
    return out >= 1;
}

// "3x3", "*x3", "*" (both any), "-" (both none).
bool parse_pair(const std::string &s, int64_t &a, int64_t &b) {
    if (s == "-") return a = b = kNone, true;
    if (s == "*") return a = b = kAny, true;
    const size_t x = s.find('x');
    if (x == std::string::npos) return false;
    return parse_field(s.substr(0, x), a) && parse_field(s.substr(x + 1), b) && a != kNone && b != kNone;
}

std::string join(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

}  // namespace

bool ScheduleEntry::matches(const ScheduleEntry &key) const {
    const bool any_step = step_h == kAny && step_w == kAny;
    const bool step_ok = any_step || (step_kind == key.step_kind && field_matches(step_h, key.step_h) &&
                                      field_matches(step_w, key.step_w));
    return stage == key.stage && field_matches(kernel_h, key.kernel_h) && field_matches(kernel_w, key.kernel_w) &&
           step_ok && field_matches(in_channels, key.in_channels) &&
           field_matches(out_channels, key.out_channels) && field_matches(batch, key.batch) &&
           field_matches(height, key.height) && field_matches(width, key.width);
}

std::string ScheduleEntry::key_text() const {
    char line[256];
    const std::string step = step_h == kNone && step_w == kNone ? "-" : std::string(1, step_kind) + pair_text(step_h, step_w);
    std::snprintf(line, sizeof line, "%-27s %-6s %-5s %-5s %-5s %-5s %-6s %-6s", stage.c_str(),
                  pair_text(kernel_h, kernel_w).c_str(), step.c_str(), field_text(in_channels).c_str(),
                  field_text(out_channels).c_str(), field_text(batch).c_str(), field_text(height).c_str(),
                  field_text(width).c_str());
    return line;
}

ScheduleTable::ScheduleTable() : ScheduleTable(ScheduleRules()) {}

ScheduleTable::ScheduleTable(ScheduleRules rules) : rules_(std::make_shared<const ScheduleRules>(std::move(rules))) {}

const std::string &ScheduleTable::name() const { return rules_->name; }

std::string ScheduleTable::to_text() const { return rules_->to_text(); }

ScheduleTable ScheduleTable::manual() {
    ScheduleRules r;
    r.name = "manual";
    r.default_variant = "manual";
    return ScheduleTable(std::move(r));
}

ScheduleTable ScheduleTable::policy() { return ScheduleTable(); }

ScheduleTable ScheduleTable::automatic() {
    ScheduleRules r;
    r.name = "auto";
    r.default_variant = "auto";
    return ScheduleTable(std::move(r));
}

ScheduleTable ScheduleTable::shipped(const std::string &target) {
    for (const ShippedTable *s = kShippedTables; s->target; ++s) {
        if (target != s->target) continue;
        auto t = parse(s->text, std::string("schedules/tuned/") + s->target + ".txt");
        if (t) {  // tests check that every shipped table parses
            ScheduleRules r = t->rules();
            r.name = "tuned (" + target + ")";
            return ScheduleTable(std::move(r));
        }
    }
    ScheduleRules r;
    r.name = "tuned (" + target + ": no shipped table, built-in policy)";
    return ScheduleTable(std::move(r));
}

Expected<ScheduleTable> ScheduleTable::parse(const std::string &text, const std::string &source) {
    ScheduleRules table;
    table.name = source;
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    auto error = [&](const std::string &what) {
        return Status::Error("schedule table " + source + ", line " + std::to_string(number) + ": " + what);
    };
    auto check_variant = [&](const std::string &stage, const std::string &variant) -> Status {
        const auto variants = schedule_variants(stage);
        if (std::find(variants.begin(), variants.end(), variant) == variants.end())
            return error("stage " + stage + " has no variant '" + variant + "' (built: " + join(variants) + ")");
        return Status::Ok();
    };
    while (std::getline(lines, line)) {
        ++number;
        if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
        std::istringstream words(line);
        std::vector<std::string> f;
        for (std::string w; words >> w;) f.push_back(w);
        if (f.empty()) continue;
        if (f[0] == "target") {
            if (f.size() != 2) return error("expected 'target <name>', e.g. 'target x86-64-avx2'");
            table.target = f[1];
            continue;
        }
        if (f[0] == "default") {
            if (f.size() != 2 || (f[1] != "policy" && f[1] != "manual" && f[1] != "auto"))
                return error("expected 'default policy', 'default manual' or 'default auto'");
            table.default_variant = f[1];
            continue;
        }
        if (f.size() != 9)
            return error("expected 9 fields (stage kernel step in out batch height width variant), got " +
                         std::to_string(f.size()));
        ScheduleEntry e;
        e.stage = f[0];
        if (schedule_variants(e.stage).empty())
            return error("unknown stage '" + e.stage + "' (known: " + join(schedule_stages()) + ")");
        if (!parse_pair(f[1], e.kernel_h, e.kernel_w))
            return error("bad kernel '" + f[1] + "': expected KHxKW such as 3x3, '*' for any, or '-'");
        if (f[2] == "-") {
            e.step_h = e.step_w = kNone;
        } else if (f[2] == "*") {
            e.step_h = e.step_w = kAny;
        } else if (f[2].size() < 2 || (f[2][0] != 's' && f[2][0] != 'u') ||
                   !parse_pair(f[2].substr(1), e.step_h, e.step_w)) {
            return error("bad step '" + f[2] + "': expected sSHxSW (stride, e.g. s2x2), uFHxFW (up-sampling, e.g. u2x2) or '-'");
        } else {
            e.step_kind = f[2][0];
        }
        const char *names[] = {"in channels", "out channels", "batch", "height", "width"};
        int64_t *fields[] = {&e.in_channels, &e.out_channels, &e.batch, &e.height, &e.width};
        for (int i = 0; i < 5; ++i)
            if (!parse_field(f[3 + i], *fields[i]) || *fields[i] == kNone)
                return error(std::string("bad ") + names[i] + " '" + f[3 + i] + "': expected a positive integer or '*'");
        e.variant = f[8];
        Status ok = check_variant(e.stage, e.variant);
        if (!ok) return ok;
        if (!variant_applies(e.variant, e))
            return error("variant '" + e.variant + "' does not run " + f[1] + " " + f[2] + " (" +
                         runtime::runs_only(*runtime::find_variant(e.stage, e.variant)) + ")");
        table.entries.push_back(std::move(e));
    }
    return ScheduleTable(std::move(table));
}

Expected<ScheduleTable> ScheduleTable::load(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::Error("cannot open schedule table '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return Status::Error("cannot read schedule table '" + path + "'");
    return parse(ss.str(), path);
}

Expected<ScheduleTable> ScheduleTable::from_spec(const std::string &spec) {
    if (spec == "policy") return policy();
    if (spec == "manual") return manual();
    if (spec == "auto") return automatic();
    if (spec == "tuned") return shipped(cpu_target());
    return load(spec);
}

std::string ScheduleRules::variant_for(const ScheduleEntry &key) const {
    for (const ScheduleEntry &e : entries)
        if (e.matches(key)) return e.variant;
    if (const ScheduleEntry *near = nearest_entry(key)) return near->variant;
    if (default_variant == "policy") return runtime::policy_variant(key, cpu_target());
    return default_variant;
}

// A line measured on another shape stands for `key` when it is the same stage, kernel and step
// and its channels are within 1.5x, its pixels per image within 4x and its batch within 4x; the
// nearest such line in log2 distance wins (the first on a tie). "*" lines match or not above.
// Channels are held closer than pixels because the best variant turns on them (on the spread's
// 3x3 convs, Winograd loses below 32 channels and wins from 48).
const ScheduleEntry *ScheduleRules::nearest_entry(const ScheduleEntry &key) const {
    static const double kChannelRatio = std::log2(1.5) + 1e-9;
    auto log_ratio = [](int64_t a, int64_t b) { return std::fabs(std::log2(double(a) / double(b))); };
    const ScheduleEntry *best = nullptr;
    double best_distance = 0;
    for (const ScheduleEntry &e : entries) {
        if (e.stage != key.stage || e.kernel_h != key.kernel_h || e.kernel_w != key.kernel_w ||
            e.step_kind != key.step_kind || e.step_h != key.step_h || e.step_w != key.step_w)
            continue;
        const int64_t fields[] = {e.in_channels, e.out_channels, e.batch, e.height, e.width};
        if (std::any_of(std::begin(fields), std::end(fields), [](int64_t v) { return v < 1; })) continue;
        const double in = log_ratio(e.in_channels, key.in_channels), out = log_ratio(e.out_channels, key.out_channels);
        const double pixels = log_ratio(e.height * e.width, key.height * key.width);
        const double batch = log_ratio(e.batch, key.batch);
        if (in > kChannelRatio || out > kChannelRatio || pixels > 2 || batch > 2) continue;
        const double aspect = std::fabs(std::log2(double(e.width) / double(e.height)) -
                                        std::log2(double(key.width) / double(key.height)));
        const double distance = in + out + pixels + 0.5 * aspect + 0.25 * batch;
        if (best == nullptr || distance < best_distance) best = &e, best_distance = distance;
    }
    return best != nullptr && variant_applies(best->variant, key) ? best : nullptr;
}

std::string ScheduleRules::to_text() const {
    std::string out;
    if (!target.empty()) out += "target " + target + "\n";
    out += "default " + default_variant + "\n";
    out += "# stage                     kernel step  in    out   batch height width  variant\n";
    for (const ScheduleEntry &e : entries) out += e.key_text() + " " + e.variant + "\n";
    return out;
}

std::vector<std::string> schedule_stages() { return runtime::stage_library_names(); }

std::vector<std::string> schedule_variants(const std::string &stage) { return runtime::stage_variant_names(stage); }

bool variant_applies(const std::string &variant, const ScheduleEntry &key) {
    const runtime::VariantInfo *v = runtime::find_variant(key.stage, variant);
    return v != nullptr && runtime::variant_runs(*v, key);
}

}  // namespace ae2d
