/*
 * Layout tables of the side data structs, computed from the real headers so
 * that bindings build their record types (numpy dtypes) from them.  A static
 * assertion per field checks that the declared element type and shape cover
 * exactly the member, so a header change that the table misses fails the
 * build instead of shifting fields silently.
 */
#include <stddef.h>
#include <string.h>

#include <libavutil/avutil.h>
#include <libavutil/codec_info.h>
#include <libavutil/motion_vector.h>

#include "internal.h"

#define FIELD(type_, member, ctype, typestr, nd, d0, d1)                                \
    { #member, typestr, offsetof(type_, member), sizeof(ctype), nd, { d0, d1 } }

#define CHECK(type_, member, ctype, d0, d1)                                             \
    _Static_assert(sizeof(((type_ *)0)->member) == sizeof(ctype) * (d0) * (d1),         \
                   #type_ "." #member ": layout table out of date")

#define CI AVCodecInfo
#define MAXR AV_CODEC_INFO_MAX_REFS
#define CODEC_INFO_FIELDS(X)                                          \
    X(version,            uint32_t, "uint32", 0, 1, 1)                \
    X(size,               uint32_t, "uint32", 0, 1, 1)                \
    X(decode_index,       int64_t,  "int64",  0, 1, 1)                \
    X(pts,                int64_t,  "int64",  0, 1, 1)                \
    X(dts,                int64_t,  "int64",  0, 1, 1)                \
    X(pict_type,          int32_t,  "int32",  0, 1, 1)                \
    X(poc,                int32_t,  "int32",  0, 1, 1)                \
    X(qp,                 int32_t,  "int32",  0, 1, 1)                \
    X(flags,              uint32_t, "uint32", 0, 1, 1)                \
    X(coded_width,        int32_t,  "int32",  0, 1, 1)                \
    X(coded_height,       int32_t,  "int32",  0, 1, 1)                \
    X(crop_left,          int32_t,  "int32",  0, 1, 1)                \
    X(crop_top,           int32_t,  "int32",  0, 1, 1)                \
    X(bit_depth,          int32_t,  "int32",  0, 1, 1)                \
    X(block_size,         int32_t,  "int32",  0, 1, 1)                \
    X(blocks_w,           int32_t,  "int32",  0, 1, 1)                \
    X(blocks_h,           int32_t,  "int32",  0, 1, 1)                \
    X(ref_block_size,     int32_t,  "int32",  0, 1, 1)                \
    X(mb_size,            int32_t,  "int32",  0, 1, 1)                \
    X(mbs_w,              int32_t,  "int32",  0, 1, 1)                \
    X(mbs_h,              int32_t,  "int32",  0, 1, 1)                \
    X(nb_refs,            int32_t,  "int32",  1, 2, 1)                \
    X(ref_decode_index,   int64_t,  "int64",  2, 2, MAXR)             \
    X(ref_poc,            int32_t,  "int32",  2, 2, MAXR)             \
    X(mb_type_offset,     uint32_t, "uint32", 0, 1, 1)                \
    X(mv_offset,          uint32_t, "uint32", 1, 2, 1)                \
    X(ref_idx_offset,     uint32_t, "uint32", 1, 2, 1)                \
    X(mb_qp_offset,       uint32_t, "uint32", 0, 1, 1)                \
    X(residual_width,     int32_t,  "int32",  1, 3, 1)                \
    X(residual_height,    int32_t,  "int32",  1, 3, 1)                \
    X(residual_block_size,    uint32_t, "uint32", 0, 1, 1)            \
    X(residual_mask_offset,   uint32_t, "uint32", 0, 1, 1)            \
    X(residual_index_offset,  uint32_t, "uint32", 0, 1, 1)            \
    X(residual_blocks_offset, uint32_t, "uint32", 0, 1, 1)            \
    X(nb_residual_blocks,     uint32_t, "uint32", 0, 1, 1)            \
    X(residual_tb_offset,     uint32_t, "uint32", 0, 1, 1)            \
    X(nb_residual_tbs,        uint32_t, "uint32", 0, 1, 1)            \
    X(residual_samples_offset, uint32_t, "uint32", 0, 1, 1)           \
    X(nb_residual_samples,    uint32_t, "uint32", 0, 1, 1)

#define TB AVCodecInfoTransformBlock
#define TRANSFORM_BLOCK_FIELDS(X)                                     \
    X(x,                  uint16_t, "uint16", 0, 1, 1)                \
    X(y,                  uint16_t, "uint16", 0, 1, 1)                \
    X(plane,              uint8_t,  "uint8",  0, 1, 1)                \
    X(log2_size,          uint8_t,  "uint8",  0, 1, 1)                \
    X(reserved,           uint16_t, "uint16", 0, 1, 1)                \
    X(offset,             uint32_t, "uint32", 0, 1, 1)

#define MV AVMotionVector
#define MOTION_VECTOR_FIELDS(X)                                       \
    X(source,             int32_t,  "int32",  0, 1, 1)                \
    X(w,                  uint8_t,  "uint8",  0, 1, 1)                \
    X(h,                  uint8_t,  "uint8",  0, 1, 1)                \
    X(src_x,              int16_t,  "int16",  0, 1, 1)                \
    X(src_y,              int16_t,  "int16",  0, 1, 1)                \
    X(dst_x,              int16_t,  "int16",  0, 1, 1)                \
    X(dst_y,              int16_t,  "int16",  0, 1, 1)                \
    X(flags,              uint64_t, "uint64", 0, 1, 1)                \
    X(motion_x,           int32_t,  "int32",  0, 1, 1)                \
    X(motion_y,           int32_t,  "int32",  0, 1, 1)                \
    X(motion_scale,       uint16_t, "uint16", 0, 1, 1)

#define CI_CHECK(m, c, t, nd, d0, d1) CHECK(CI, m, c, d0, d1);
#define CI_FIELD(m, c, t, nd, d0, d1) FIELD(CI, m, c, t, nd, d0, d1),
#define MV_CHECK(m, c, t, nd, d0, d1) CHECK(MV, m, c, d0, d1);
#define MV_FIELD(m, c, t, nd, d0, d1) FIELD(MV, m, c, t, nd, d0, d1),
#define TB_CHECK(m, c, t, nd, d0, d1) CHECK(TB, m, c, d0, d1);
#define TB_FIELD(m, c, t, nd, d0, d1) FIELD(TB, m, c, t, nd, d0, d1),

CODEC_INFO_FIELDS(CI_CHECK)
MOTION_VECTOR_FIELDS(MV_CHECK)
TRANSFORM_BLOCK_FIELDS(TB_CHECK)

static const CvsrField codec_info_fields[] = { CODEC_INFO_FIELDS(CI_FIELD) };
static const CvsrField motion_vector_fields[] = { MOTION_VECTOR_FIELDS(MV_FIELD) };
static const CvsrField transform_block_fields[] = { TRANSFORM_BLOCK_FIELDS(TB_FIELD) };

static const CvsrLayout layouts[] = {
    { "AVCodecInfo", sizeof(AVCodecInfo),
      (int)(sizeof(codec_info_fields) / sizeof(codec_info_fields[0])), codec_info_fields,
      AV_CODEC_INFO_VERSION },
    { "AVMotionVector", sizeof(AVMotionVector),
      (int)(sizeof(motion_vector_fields) / sizeof(motion_vector_fields[0])), motion_vector_fields, 0 },
    { "AVCodecInfoTransformBlock", sizeof(AVCodecInfoTransformBlock),
      (int)(sizeof(transform_block_fields) / sizeof(transform_block_fields[0])), transform_block_fields, 0 },
};

const CvsrLayout *cvsr_layout(const char *name)
{
    for (size_t i = 0; name && i < sizeof(layouts) / sizeof(layouts[0]); i++)
        if (!strcmp(layouts[i].name, name))
            return &layouts[i];
    return NULL;
}

static const struct {
    const char *name;
    int64_t value;
} constants[] = {
#define C(x) { #x, (int64_t)(x) }
    C(AV_CODEC_INFO_VERSION),
    C(AV_CODEC_INFO_MAX_REFS),
    C(AV_CODEC_INFO_BLOCK_INTRA),
    C(AV_CODEC_INFO_BLOCK_INTER),
    C(AV_CODEC_INFO_BLOCK_SKIP),
    C(AV_CODEC_INFO_BLOCK_LOST),
    C(AV_CODEC_INFO_FLAG_WEIGHTED_PRED),
    C(AV_CODEC_INFO_FLAG_TRANSFORM_BYPASS),
    C(AV_NOPTS_VALUE),
    C(AV_PICTURE_TYPE_NONE),
    C(AV_PICTURE_TYPE_I),
    C(AV_PICTURE_TYPE_P),
    C(AV_PICTURE_TYPE_B),
    C(AV_PICTURE_TYPE_S),
    C(AV_PICTURE_TYPE_SI),
    C(AV_PICTURE_TYPE_SP),
    C(AV_PICTURE_TYPE_BI),
    C(AVERROR_OPTION_NOT_FOUND),
    C(AV_LOG_QUIET),
    C(AV_LOG_ERROR),
    C(AV_LOG_WARNING),
    C(AV_LOG_INFO),
    C(AV_LOG_VERBOSE),
    C(AV_LOG_DEBUG),
#undef C
};

int64_t cvsr_constant(const char *name, int *found)
{
    for (size_t i = 0; name && i < sizeof(constants) / sizeof(constants[0]); i++) {
        if (!strcmp(constants[i].name, name)) {
            if (found)
                *found = 1;
            return constants[i].value;
        }
    }
    if (found)
        *found = 0;
    return 0;
}
