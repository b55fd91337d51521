#include <stdio.h>
#include <stddef.h>
#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

// libjpeg reports a fatal error by calling error_exit, which must not return. Swift cannot call setjmp, so the
// whole decode, setjmp and longjmp included, lives in this C function and no Swift frame is ever jumped over.
// Corrupt-data warnings (a truncated file, damaged entropy-coded data) are treated as errors too, so a damaged
// file fails instead of decoding to a partly grey image.

struct elide_jpeg_error_manager {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

static void elide_jpeg_error_exit(j_common_ptr info) {
    struct elide_jpeg_error_manager *errors = (struct elide_jpeg_error_manager *)info->err;
    errors->manager.format_message(info, errors->message);
    longjmp(errors->jump, 1);
}

static void elide_jpeg_emit_message(j_common_ptr info, int level) {
    // Level -1 is a corrupt-data warning; higher levels are trace messages, which are ignored.
    if (level < 0) {
        elide_jpeg_error_exit(info);
    }
}

/// Decodes the JPEG file in data[0 ..< size] to 8-bit grey (one component) or RGB (three components), rows top
/// to bottom. Returns a malloc'd buffer of width * height * components bytes that the caller frees, or NULL with
/// a message in message[0 ..< capacity] (libjpeg's own text). Images above maxPixels pixels are refused before
/// any pixel memory is allocated.
static inline unsigned char *elide_jpeg_decode(const unsigned char *data, unsigned long size,
                                               unsigned long maxPixels, int *width, int *height,
                                               int *components, char *message, size_t capacity) {
    struct jpeg_decompress_struct info;
    struct elide_jpeg_error_manager errors;
    unsigned char *volatile pixels = NULL;
    memset(&info, 0, sizeof(info));
    errors.message[0] = 0;
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = elide_jpeg_error_exit;
    errors.manager.emit_message = elide_jpeg_emit_message;
    if (setjmp(errors.jump)) {
        snprintf(message, capacity, "%s", errors.message);
        jpeg_destroy_decompress(&info);
        free(pixels);
        return NULL;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, size);
    jpeg_read_header(&info, TRUE);
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&info);
    unsigned long pixelCount = (unsigned long)info.output_width * info.output_height;
    if (pixelCount > maxPixels) {
        snprintf(message, capacity, "the image is %ux%u pixels, more than the %lu this decoder accepts",
                 info.output_width, info.output_height, maxPixels);
        jpeg_destroy_decompress(&info);
        return NULL;
    }
    size_t rowBytes = (size_t)info.output_width * info.output_components;
    pixels = malloc(rowBytes * info.output_height);
    if (pixels == NULL) {
        snprintf(message, capacity, "out of memory for %lu pixels", pixelCount);
        jpeg_destroy_decompress(&info);
        return NULL;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + rowBytes * info.output_scanline;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    *width = (int)info.output_width;
    *height = (int)info.output_height;
    *components = info.output_components;
    jpeg_destroy_decompress(&info);
    return pixels;
}
