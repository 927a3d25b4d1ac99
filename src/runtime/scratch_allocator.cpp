#include "runtime/scratch_allocator.h"

#include <atomic>
#include <cstddef>
#include <mutex>

#include "HalideRuntime.h"

namespace ae2d::runtime {

namespace {

// Each block starts with a header holding its usable capacity; callers get the address past it.
// 128 bytes keep the caller's pointer aligned as the underlying allocator aligned the block
// (64 bytes on x86, 32 on ARM) and leave the 8 readable bytes before it that Halide needs.
constexpr size_t kHeader = 128;
constexpr size_t kGranule = 128;

halide_malloc_t g_system_malloc = nullptr;
halide_free_t g_system_free = nullptr;
std::atomic<int64_t> g_system_allocations{0};

// The header: the block's usable capacity.
struct Block {
    size_t capacity = 0;  // usable bytes after the header
};
static_assert(sizeof(Block) <= kHeader, "the header must fit its space");

Block *header_of(void *user_ptr) { return reinterpret_cast<Block *>(static_cast<char *>(user_ptr) - kHeader); }

// Free blocks, shared by all threads. Every stage frees its scratch before the next starts, so
// the pool settles at the largest set of blocks one stage holds at once (a few per worker), and
// best fit (the smallest free block that is large enough) serves a repeated pass from it. A
// per-thread cache was tried first: the threads that run a stage's tasks change from pass to
// pass, and a thread without the right block went to the system (seen in 1 of about 20 runs).
// The capacities sit in one array, scanned without touching the blocks: a list chained through
// the headers cost a cache miss per block (W1 holds about 24; measured, perf on a W1 bench:
// 2.3% of the time in the scan). A pool full to kMaxFreeBlocks returns blocks to the system.
constexpr size_t kMaxFreeBlocks = 1024;
std::mutex g_pool_mutex;
size_t g_free_capacity[kMaxFreeBlocks];
Block *g_free_block[kMaxFreeBlocks];
size_t g_free_count = 0;

void *pooled_malloc(void *user_context, size_t size) {
    {
        std::lock_guard<std::mutex> lock(g_pool_mutex);
        size_t best = g_free_count;
        for (size_t i = 0; i < g_free_count; ++i)
            if (g_free_capacity[i] >= size && (best == g_free_count || g_free_capacity[i] < g_free_capacity[best]))
                best = i;
        if (best < g_free_count) {
            Block *b = g_free_block[best];
            --g_free_count;
            g_free_capacity[best] = g_free_capacity[g_free_count];
            g_free_block[best] = g_free_block[g_free_count];
            return reinterpret_cast<char *>(b) + kHeader;
        }
    }
    const size_t capacity = (size + kGranule - 1) / kGranule * kGranule + kGranule;  // slack: reads past the end
    char *base = static_cast<char *>(g_system_malloc(user_context, kHeader + capacity));
    if (!base) return nullptr;
    g_system_allocations.fetch_add(1, std::memory_order_relaxed);
    *reinterpret_cast<Block *>(base) = {capacity};
    return base + kHeader;
}

void pooled_free(void *user_context, void *ptr) {
    if (!ptr) return;
    Block *b = header_of(ptr);
    {
        std::lock_guard<std::mutex> lock(g_pool_mutex);
        if (g_free_count < kMaxFreeBlocks) {
            g_free_capacity[g_free_count] = b->capacity;
            g_free_block[g_free_count] = b;
            ++g_free_count;
            return;
        }
    }
    g_system_free(user_context, b);
}

}  // namespace

void install_scratch_allocator() {
    static std::once_flag once;
    std::call_once(once, [] {
        g_system_malloc = halide_set_custom_malloc(pooled_malloc);
        g_system_free = halide_set_custom_free(pooled_free);  // only for blocks past kMaxFreeBlocks
    });
}

// Installed while the program starts, before any Halide code can have allocated through the
// previous allocator (a block from it must never reach pooled_free).
const bool g_installed_at_startup = (install_scratch_allocator(), true);

int64_t scratch_system_allocations() { return g_system_allocations.load(std::memory_order_relaxed); }

}  // namespace ae2d::runtime
