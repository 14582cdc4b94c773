#include "vision/image_decode.h"

#include "core/base64.h"

#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/decode.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "vision/byte_cursor.h"

namespace m3::vision {

namespace {

bool starts_with(const uint8_t *data, size_t size, const char *magic, size_t offset = 0) {
  const size_t n = std::strlen(magic);
  return size >= offset + n && std::memcmp(data + offset, magic, n) == 0;
}

void check_dimensions(const char *format, int64_t width, int64_t height,
                      const MediaLimits &limits) {
  require(width > 0 && height > 0, std::string(format) + " image has no pixels");
  require(
      width <= limits.max_side && height <= limits.max_side && width * height <= limits.max_pixels,
      std::string(format) + " image of " + std::to_string(width) + "x" + std::to_string(height) +
          " pixels is over the limit (" + std::to_string(limits.max_side) + " per side, " +
          std::to_string(limits.max_pixels) + " in all)");
}

// ---------------------------------------------------------------------------- PNG

struct PngInput {
  ByteCursor bytes;
  char message[160];
};

void png_read_bytes(png_structp png, png_bytep out, png_size_t count) {
  auto *input = static_cast<PngInput *>(png_get_io_ptr(png));
  if (count > input->bytes.remaining())
    png_error(png, "truncated data");
  input->bytes.read(out, count);
}

void png_on_error(png_structp png, png_const_charp message) {
  auto *input = static_cast<PngInput *>(png_get_error_ptr(png));
  std::snprintf(input->message, sizeof input->message, "%s", message);
  std::longjmp(png_jmpbuf(png), 1);
}

void png_on_warning(png_structp, png_const_charp) {}

struct PngHandles {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngHandles() { png_destroy_read_struct(&png, info ? &info : nullptr, nullptr); }
};

RgbImage decode_png(const uint8_t *data, size_t size, const MediaLimits &limits) {
  PngInput input{{data, size}, ""};
  PngHandles h;
  h.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &input, png_on_error, png_on_warning);
  require(h.png != nullptr, "out of memory decoding a PNG image");
  h.info = png_create_info_struct(h.png);
  require(h.info != nullptr, "out of memory decoding a PNG image");
  RgbImage image;
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(h.png)))
    fail(std::string("invalid PNG image: ") + input.message);
  png_set_read_fn(h.png, &input, png_read_bytes);
  png_set_user_limits(h.png, png_uint_32(limits.max_side), png_uint_32(limits.max_side));
  png_set_chunk_malloc_max(h.png, limits.max_bytes);
  png_read_info(h.png, h.info);
  const int64_t width = png_get_image_width(h.png, h.info);
  const int64_t height = png_get_image_height(h.png, h.info);
  check_dimensions("PNG", width, height, limits);
  // To 8-bit RGB the way PIL's convert("RGB") sees it: palette and low bit depths expanded,
  // 16-bit samples keep their high byte, alpha (and tRNS) dropped, gray replicated.
  png_set_expand(h.png);
  png_set_strip_16(h.png);
  png_set_strip_alpha(h.png);
  png_set_gray_to_rgb(h.png);
  png_set_interlace_handling(h.png);
  png_read_update_info(h.png, h.info);
  if (png_get_rowbytes(h.png, h.info) != size_t(width) * 3)
    png_error(h.png, "unexpected row layout after conversion");
  image.width = int(width);
  image.height = int(height);
  image.pixels.resize(size_t(width * height * 3));
  rows.resize(size_t(height));
  for (int64_t y = 0; y < height; ++y)
    rows[size_t(y)] = image.pixels.data() + y * width * 3;
  png_read_image(h.png, rows.data());
  return image;
}

// ---------------------------------------------------------------------------- JPEG

struct JpegError {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_on_error(j_common_ptr cinfo) {
  auto *error = reinterpret_cast<JpegError *>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, error->message);
  std::longjmp(error->jump, 1);
}

void jpeg_on_message(j_common_ptr, int) {}

struct JpegHandle {
  jpeg_decompress_struct cinfo{};
  bool created = false;
  ~JpegHandle() {
    if (created)
      jpeg_destroy_decompress(&cinfo);
  }
};

RgbImage decode_jpeg(const uint8_t *data, size_t size, const MediaLimits &limits) {
  JpegHandle h;
  JpegError error{};
  h.cinfo.err = jpeg_std_error(&error.base);
  error.base.error_exit = jpeg_on_error;
  error.base.emit_message = jpeg_on_message;
  RgbImage image;
  if (setjmp(error.jump))
    fail(std::string("invalid JPEG image: ") + error.message);
  jpeg_create_decompress(&h.cinfo);
  h.created = true;
  h.cinfo.mem->max_memory_to_use = long(limits.max_pixels) * 8;
  jpeg_mem_src(&h.cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&h.cinfo, TRUE);
  check_dimensions("JPEG", h.cinfo.image_width, h.cinfo.image_height, limits);
  require(h.cinfo.jpeg_color_space != JCS_CMYK && h.cinfo.jpeg_color_space != JCS_YCCK,
          "CMYK JPEG images are not supported; convert the image to RGB");
  h.cinfo.out_color_space = JCS_RGB; // PIL's defaults otherwise: islow DCT, fancy upsampling
  jpeg_start_decompress(&h.cinfo);
  if (h.cinfo.output_components != 3)
    fail("invalid JPEG image: unexpected component count");
  image.width = int(h.cinfo.output_width);
  image.height = int(h.cinfo.output_height);
  image.pixels.resize(size_t(image.width) * image.height * 3);
  while (h.cinfo.output_scanline < h.cinfo.output_height) {
    JSAMPROW row = image.pixels.data() + size_t(h.cinfo.output_scanline) * image.width * 3;
    jpeg_read_scanlines(&h.cinfo, &row, 1);
  }
  jpeg_finish_decompress(&h.cinfo);
  return image;
}

// ---------------------------------------------------------------------------- WebP

RgbImage decode_webp(const uint8_t *data, size_t size, const MediaLimits &limits) {
  WebPBitstreamFeatures features;
  require(WebPGetFeatures(data, size, &features) == VP8_STATUS_OK, "invalid WebP image");
  require(!features.has_animation, "animated WebP images are not supported");
  check_dimensions("WebP", features.width, features.height, limits);
  RgbImage image;
  image.width = features.width;
  image.height = features.height;
  image.pixels.resize(size_t(image.width) * image.height * 3);
  // Decodes without premultiplying: alpha is ignored like PIL's convert("RGB").
  require(WebPDecodeRGBInto(data, size, image.pixels.data(), image.pixels.size(),
                            image.width * 3) != nullptr,
          "invalid WebP image: decoding failed");
  return image;
}

// ---------------------------------------------------------------------------- GIF

int gif_read_bytes(GifFileType *gif, GifByteType *out, int count) {
  return int(static_cast<ByteCursor *>(gif->UserData)->read(out, size_t(std::max(count, 0))));
}

struct GifHandle {
  GifFileType *gif = nullptr;
  ~GifHandle() {
    if (gif)
      DGifCloseFile(gif, nullptr);
  }
};

[[noreturn]] void gif_fail(const GifFileType *gif) {
  fail(std::string("invalid GIF image: ") + (GifErrorString(gif->Error) ?: "decoding failed"));
}

// The first frame, placed on the logical screen filled with the background colour.
RgbImage decode_gif(const uint8_t *data, size_t size, const MediaLimits &limits) {
  ByteCursor input{data, size};
  GifHandle h;
  int error = 0;
  h.gif = DGifOpen(&input, gif_read_bytes, &error);
  if (!h.gif)
    fail(std::string("invalid GIF image: ") + (GifErrorString(error) ?: "bad header"));
  GifFileType *gif = h.gif;
  check_dimensions("GIF", gif->SWidth, gif->SHeight, limits);
  while (true) {
    GifRecordType type;
    if (DGifGetRecordType(gif, &type) == GIF_ERROR)
      gif_fail(gif);
    if (type == TERMINATE_RECORD_TYPE)
      fail("invalid GIF image: no frame");
    if (type == EXTENSION_RECORD_TYPE) {
      int code = 0;
      GifByteType *block = nullptr;
      if (DGifGetExtension(gif, &code, &block) == GIF_ERROR)
        gif_fail(gif);
      while (block != nullptr)
        if (DGifGetExtensionNext(gif, &block) == GIF_ERROR)
          gif_fail(gif);
      continue;
    }
    if (type != IMAGE_DESC_RECORD_TYPE)
      continue;
    if (DGifGetImageDesc(gif) == GIF_ERROR)
      gif_fail(gif);
    const GifImageDesc &desc = gif->Image;
    const ColorMapObject *map = desc.ColorMap ? desc.ColorMap : gif->SColorMap;
    require(map != nullptr && map->ColorCount > 0, "invalid GIF image: no colour table");
    require(desc.Left >= 0 && desc.Top >= 0 && desc.Width > 0 && desc.Height > 0 &&
                int64_t(desc.Left) + desc.Width <= gif->SWidth &&
                int64_t(desc.Top) + desc.Height <= gif->SHeight,
            "invalid GIF image: frame outside the logical screen");
    std::vector<GifPixelType> indices(size_t(desc.Width) * desc.Height);
    auto read_row = [&](int row) {
      if (DGifGetLine(gif, &indices[size_t(row) * desc.Width], desc.Width) == GIF_ERROR)
        gif_fail(gif);
    };
    if (desc.Interlace) {
      const int starts[] = {0, 4, 2, 1}, steps[] = {8, 8, 4, 2};
      for (int pass = 0; pass < 4; ++pass)
        for (int row = starts[pass]; row < desc.Height; row += steps[pass])
          read_row(row);
    } else {
      for (int row = 0; row < desc.Height; ++row)
        read_row(row);
    }
    RgbImage image;
    image.width = gif->SWidth;
    image.height = gif->SHeight;
    image.pixels.resize(size_t(image.width) * image.height * 3);
    auto colour = [&](int index, uint8_t *out) {
      const GifColorType c = map->Colors[index < map->ColorCount ? index : 0];
      out[0] = c.Red, out[1] = c.Green, out[2] = c.Blue;
    };
    for (int y = 0; y < image.height; ++y)
      for (int x = 0; x < image.width; ++x)
        colour(gif->SBackGroundColor, &image.pixels[(size_t(y) * image.width + x) * 3]);
    for (int y = 0; y < desc.Height; ++y)
      for (int x = 0; x < desc.Width; ++x)
        colour(indices[size_t(y) * desc.Width + x],
               &image.pixels[(size_t(desc.Top + y) * image.width + desc.Left + x) * 3]);
    return image;
  }
}

} // namespace

RgbImage decode_image(const uint8_t *data, size_t size, const MediaLimits &limits) {
  require(size > 0, "empty image data");
  require(size <= limits.max_bytes, "image of " + std::to_string(size) +
                                        " bytes is over the limit of " +
                                        std::to_string(limits.max_bytes));
  if (starts_with(data, size, "\x89PNG\r\n\x1a\n"))
    return decode_png(data, size, limits);
  if (starts_with(data, size, "\xff\xd8\xff"))
    return decode_jpeg(data, size, limits);
  if (starts_with(data, size, "RIFF") && starts_with(data, size, "WEBP", 8))
    return decode_webp(data, size, limits);
  if (starts_with(data, size, "GIF87a") || starts_with(data, size, "GIF89a"))
    return decode_gif(data, size, limits);
  fail("unsupported image format (expected PNG, JPEG, WebP or GIF)");
}

RgbImage decode_image(const std::vector<uint8_t> &bytes, const MediaLimits &limits) {
  return decode_image(bytes.data(), bytes.size(), limits);
}

std::vector<uint8_t> read_media_bytes(const std::string &file_or_data_url,
                                      const MediaLimits &limits) {
  std::vector<uint8_t> bytes;
  if (file_or_data_url.rfind("data:", 0) == 0) {
    const size_t comma = file_or_data_url.find(',');
    require(comma != std::string::npos, "malformed data URL (no comma)");
    const std::string header = file_or_data_url.substr(5, comma - 5);
    require(header.size() >= 7 && header.compare(header.size() - 7, 7, ";base64") == 0,
            "data URLs must be base64 encoded (data:<mime>;base64,...)");
    require((file_or_data_url.size() - comma) / 4 * 3 <= limits.max_bytes + 3,
            "media data URL is over the limit of " + std::to_string(limits.max_bytes) + " bytes");
    auto decoded = decode_base64(std::string_view(file_or_data_url).substr(comma + 1));
    require(decoded.has_value(), "invalid base64 data");
    bytes = std::move(*decoded);
  } else {
    std::ifstream in(file_or_data_url, std::ios::binary | std::ios::ate);
    require(bool(in), "cannot read media file " + file_or_data_url);
    const std::streamoff size = in.tellg();
    require(size >= 0 && uint64_t(size) <= limits.max_bytes,
            "media file " + file_or_data_url + " is over the limit of " +
                std::to_string(limits.max_bytes) + " bytes");
    in.seekg(0);
    bytes.resize(size_t(size));
    in.read(reinterpret_cast<char *>(bytes.data()), size);
    require(bool(in), "cannot read media file " + file_or_data_url);
  }
  require(bytes.size() <= limits.max_bytes,
          "media of " + std::to_string(bytes.size()) + " bytes is over the limit");
  return bytes;
}

} // namespace m3::vision
