#include "io/png_image.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "ae2d/limits.h"
#include "io/file_util.h"
#include "core/limits_check.h"

namespace ae2d::io {

namespace {

// libpng reports errors by calling our handler, which must not return: it longjmps back to
// the setjmp in decode()/encode(). To keep that well-defined, everything those functions
// touch after setjmp lives in this heap/caller-owned struct (no automatic C++ objects with
// destructors are created between setjmp and a possible longjmp), and the handler only
// copies the message into a fixed buffer.
struct PngState {
    // reading
    const uint8_t *in = nullptr;
    size_t in_size = 0;
    size_t in_pos = 0;
    // writing
    std::vector<uint8_t> out;
    bool out_of_memory = false;
    // decoded or to-be-encoded rows, and the row pointers libpng fills
    std::vector<uint8_t> pixels;
    std::vector<png_bytep> rows;
    png_uint_32 width = 0, height = 0;
    int channels = 0, bit_depth = 0;
    char error[256] = {0};
    bool too_large = false;
    Limits limits;  // the caps on width, height and pixels (ae2d/limits.h)
};

// Fills st->error and returns false when the image is over a limit (checked before allocating).
bool check_size(PngState *st) {
    const Limits &l = st->limits;
    std::string why;
    if (st->width > l.max_dimension)
        why = ae2d::detail::over_limit("the width", st->width, "max_dimension", l.max_dimension);
    else if (st->height > l.max_dimension)
        why = ae2d::detail::over_limit("the height", st->height, "max_dimension", l.max_dimension);
    else if (int64_t(st->width) * st->height > l.max_image_pixels)
        why = ae2d::detail::over_limit("width x height", int64_t(st->width) * st->height, "max_image_pixels",
                                       l.max_image_pixels);
    if (why.empty()) return true;
    std::snprintf(st->error, sizeof st->error, "%s", why.c_str());
    st->too_large = true;
    return false;
}

[[noreturn]] void on_error(png_structp png, png_const_charp msg) {
    auto *st = static_cast<PngState *>(png_get_error_ptr(png));
    std::snprintf(st->error, sizeof st->error, "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // e.g. bad ancillary-chunk CRCs: harmless

void read_mem(png_structp png, png_bytep dst, png_size_t n) {
    auto *st = static_cast<PngState *>(png_get_io_ptr(png));
    if (n > st->in_size - st->in_pos) png_error(png, "truncated PNG data (unexpected end of file)");
    std::memcpy(dst, st->in + st->in_pos, n);
    st->in_pos += n;
}

void write_mem(png_structp png, png_bytep src, png_size_t n) {
    auto *st = static_cast<PngState *>(png_get_io_ptr(png));
    try {
        st->out.insert(st->out.end(), src, src + n);
    } catch (...) {  // never let an exception unwind through libpng's C frames
        st->out_of_memory = true;
        png_error(png, "out of memory");
    }
}

void flush_mem(png_structp) {}

// Allocates the row buffer; false on absurd size or bad_alloc (exceptions stay in C++ code).
bool alloc_rows(PngState *st, size_t rowbytes) {
    if (!check_size(st)) return false;
    try {
        st->pixels.assign(rowbytes * st->height, 0);
        st->rows.resize(st->height);
    } catch (...) {
        std::snprintf(st->error, sizeof st->error, "out of memory for %u x %u pixels", st->width, st->height);
        st->too_large = true;
        return false;
    }
    for (png_uint_32 y = 0; y < st->height; ++y) st->rows[y] = st->pixels.data() + y * rowbytes;
    return true;
}

// Returns false with st->error / st->too_large set on failure. No C++ objects with
// destructors are created in this function after setjmp.
bool decode(PngState *st) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, st, on_error, on_warning);
    if (!png) {
        std::snprintf(st->error, sizeof st->error, "cannot create libpng read struct");
        return false;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, nullptr, nullptr);
        std::snprintf(st->error, sizeof st->error, "cannot create libpng info struct");
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        return false;
    }
    png_set_read_fn(png, st, read_mem);
    // libpng's own cap (10^6 per axis) would preempt check_size's clearer message: lift it to the
    // format's maximum and let check_size decide, straight after the IHDR chunk is read.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    st->width = png_get_image_width(png, info);
    st->height = png_get_image_height(png, info);
    if (!check_size(st)) {
        png_destroy_read_struct(&png, &info, nullptr);
        return false;
    }

    const int color = png_get_color_type(png, info);
    const int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_interlace_handling(png);  // Adam7: png_read_image de-interlaces
    png_read_update_info(png, info);

    st->width = png_get_image_width(png, info);
    st->height = png_get_image_height(png, info);
    st->channels = png_get_channels(png, info);
    st->bit_depth = png_get_bit_depth(png, info);
    if (!alloc_rows(st, png_get_rowbytes(png, info))) {
        png_destroy_read_struct(&png, &info, nullptr);
        return false;
    }
    png_read_image(png, st->rows.data());
    png_read_end(png, nullptr);
    png_destroy_read_struct(&png, &info, nullptr);
    return true;
}

bool encode(PngState *st) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, st, on_error, on_warning);
    if (!png) {
        std::snprintf(st->error, sizeof st->error, "cannot create libpng write struct");
        return false;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, nullptr);
        std::snprintf(st->error, sizeof st->error, "cannot create libpng info struct");
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    png_set_write_fn(png, st, write_mem, flush_mem);
    png_set_IHDR(png, info, st->width, st->height, st->bit_depth,
                 st->channels == 4   ? PNG_COLOR_TYPE_RGB_ALPHA
                 : st->channels == 3 ? PNG_COLOR_TYPE_RGB
                 : st->channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
                                     : PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, st->rows.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return true;
}

}  // namespace

Expected<Image> read_png(const std::string &path) {
    return detail::read_file_with(path, "PNG", read_png_memory);
}

Expected<Image> read_png_memory(const uint8_t *data, size_t size, const std::string &name) {
    const std::string where = "PNG file '" + name + "'";
    auto fail = [&](const std::string &msg) { return Status::Error(where + ": " + msg); };

    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) return fail("not a PNG file (bad signature)");
    // Walk the chunk list first. libpng 1.6.39 allocates an ancillary chunk's declared length
    // (up to 2 GiB) before reading it, even past its own chunk_malloc_max (it only warns):
    // a 150-byte file could make it ask for 1.9 GB. A chunk must fit in the bytes we hold.
    for (size_t pos = 8; size - pos >= 8;) {
        const uint64_t len = (uint64_t(data[pos]) << 24) | (uint64_t(data[pos + 1]) << 16) |
                             (uint64_t(data[pos + 2]) << 8) | uint64_t(data[pos + 3]);
        const std::string type(reinterpret_cast<const char *>(data + pos + 4), 4);
        if (len + 12 > size - pos) {
            std::string printable;
            for (char ch : type) printable += (ch >= 33 && ch <= 126) ? ch : '?';
            return fail("truncated or corrupt PNG data: chunk '" + printable + "' declares " + std::to_string(len) +
                        " data bytes, but the file ends " + std::to_string(size - pos - 8) +
                        " bytes after the chunk's header");
        }
        pos += 12 + len;
        if (type == "IEND") break;
    }

    PngState st;
    st.in = data;
    st.in_size = size;
    st.limits = ae2d::limits();
    if (!decode(&st)) {
        if (st.too_large)
            return fail("image too large (" + std::to_string(st.width) + " x " + std::to_string(st.height) +
                        " pixels): " + st.error);
        return fail(std::string("corrupt or unsupported PNG data: ") + st.error);
    }

    // Gray or RGB in `pixels`; a sample past the colour channels is alpha, kept in `alpha`.
    const int in_c = st.channels;
    const int out_c = in_c >= 3 ? 3 : 1;
    const bool sixteen = st.bit_depth == 16;
    if (st.bit_depth != 8 && !sixteen)
        return fail("unsupported decoded bit depth " + std::to_string(st.bit_depth));
    const size_t H = st.height, W = st.width;
    Image img;
    img.bit_depth = st.bit_depth;
    try {
        img.pixels = Tensor({out_c, static_cast<int64_t>(H), static_cast<int64_t>(W)});
        if (in_c > out_c) img.alpha = Tensor({1, static_cast<int64_t>(H), static_cast<int64_t>(W)});
    } catch (const std::exception &) {
        return fail("out of memory for " + std::to_string(W) + " x " + std::to_string(H) + " pixels");
    }
    for (size_t y = 0; y < H; ++y) {
        const uint8_t *row = st.rows[y];
        for (size_t x = 0; x < W; ++x) {
            for (int c = 0; c < out_c; ++c) {
                const size_t i = x * in_c + c;
                // 16-bit PNG samples are big-endian.
                const unsigned v = sixteen ? (row[2 * i] << 8) | row[2 * i + 1] : row[i];
                img.pixels.data[(c * H + y) * W + x] = sample_to_float(v, st.bit_depth);
            }
            if (in_c > out_c) {
                const size_t i = x * in_c + out_c;
                const unsigned v = sixteen ? (row[2 * i] << 8) | row[2 * i + 1] : row[i];
                img.alpha.data[y * W + x] = sample_to_float(v, st.bit_depth);
            }
        }
    }
    return img;
}

Status write_png(const std::string &path, const Tensor &chw, int bit_depth, const Tensor *alpha) {
    const std::string where = "PNG file '" + path + "'";
    auto fail = [&](const std::string &msg) { return Status::Error(where + ": " + msg); };

    if (bit_depth != 8 && bit_depth != 16)
        return fail("unsupported bit depth " + std::to_string(bit_depth) + " (expected 8 or 16)");
    if (chw.rank() != 3)
        return fail("expected a (C, H, W) tensor of rank 3, got shape " + shape_to_string(chw.shape));
    const int64_t C = chw.shape[0], H = chw.shape[1], W = chw.shape[2];
    if (C != 1 && C != 3)
        return fail("expected C = 1 (gray) or 3 (RGB) channels, got " + std::to_string(C));
    if (H < 1 || W < 1 || H > 0x7FFFFFFF || W > 0x7FFFFFFF)
        return fail("unsupported image size " + shape_to_string(chw.shape));
    const uint64_t values = static_cast<uint64_t>(C) * static_cast<uint64_t>(H) * static_cast<uint64_t>(W);
    if (chw.data.size() != values)
        return fail("shape " + shape_to_string(chw.shape) + " expects " + std::to_string(values) +
                    " values, got " + std::to_string(chw.data.size()));

    if (alpha && alpha->shape != std::vector<int64_t>{1, H, W})
        return fail("the alpha plane has shape " + shape_to_string(alpha->shape) + ", the image " +
                    shape_to_string(chw.shape));
    const int64_t out_c = C + (alpha ? 1 : 0);

    PngState st;
    st.width = static_cast<png_uint_32>(W);
    st.height = static_cast<png_uint_32>(H);
    st.channels = static_cast<int>(out_c);
    st.bit_depth = bit_depth;
    st.limits = ae2d::limits();
    const size_t bps = bit_depth / 8;
    if (!alloc_rows(&st, static_cast<size_t>(W * out_c) * bps))
        return fail(std::string("image too large: ") + st.error);
    for (int64_t y = 0; y < H; ++y) {
        uint8_t *row = st.rows[y];
        for (int64_t x = 0; x < W; ++x) {
            for (int64_t c = 0; c < out_c; ++c) {
                const float v = c < C ? chw.data[(c * H + y) * W + x] : alpha->data[y * W + x];
                const unsigned q = float_to_sample(v, bit_depth);
                const size_t i = static_cast<size_t>(x * out_c + c);
                if (bit_depth == 16) {
                    row[2 * i] = static_cast<uint8_t>(q >> 8);
                    row[2 * i + 1] = static_cast<uint8_t>(q & 0xFF);
                } else {
                    row[i] = static_cast<uint8_t>(q);
                }
            }
        }
    }
    if (!encode(&st)) return fail(std::string("PNG encoding failed: ") + st.error);
    return detail::write_file_atomic(path, st.out.data(), st.out.size()).with_context(where);
}

}  // namespace ae2d::io
