/*
 * DRAFT of libavutil/codec_info.h (the contract between the decoder patch,
 * the native shim and the Python reader).  The patch owns the final text.
 */
#ifndef AVUTIL_CODEC_INFO_H
#define AVUTIL_CODEC_INFO_H

#include <stdint.h>

/**
 * @file
 * Codec information exported per decoded video frame as
 * AV_FRAME_DATA_CODEC_INFO side data, when the decoder's export_side_data
 * option contains "codec_info" (AV_CODEC_EXPORT_DATA_CODEC_INFO).
 *
 * The side data buffer starts with an AVCodecInfo, followed by the arrays it
 * points to by byte offset from the start of the buffer.  Every array is
 * row-major and tightly packed unless a linesize says otherwise.  An offset
 * of 0 means the array is absent.
 *
 * Geometry: the grids cover the coded picture (mb_width * 16 by
 * mb_height * 16 luma samples for H.264), whose top-left sample is the
 * top-left sample of the decoded frame before cropping.
 *
 * Motion: for list L (0 or 1), block (bx, by) with ref_idx[L] >= 0 is predicted
 * from the picture identified by ref_decode_index[L][ref_idx] (and
 * ref_poc[L][ref_idx]); the luma sample at (x, y) of the block is predicted
 * from position (x + mv[L].x / 4, y + mv[L].y / 4) of that picture, i.e. mv is
 * in quarter luma samples, x to the right and y down, pointing from the
 * current picture into the reference picture.
 */

#define AV_CODEC_INFO_VERSION    1
#define AV_CODEC_INFO_MAX_REFS  32

enum AVCodecInfoBlockType {
    AV_CODEC_INFO_BLOCK_INTRA = 0, ///< intra predicted (MVs are 0, ref_idx -1)
    AV_CODEC_INFO_BLOCK_INTER = 1, ///< motion compensated, residual may be coded
    AV_CODEC_INFO_BLOCK_SKIP  = 2, ///< skipped macroblock: inferred motion, no residual
};

typedef struct AVCodecInfo {
    uint32_t version;          ///< AV_CODEC_INFO_VERSION
    uint32_t size;             ///< size of the whole side data buffer in bytes
    int64_t  decode_index;     ///< 0-based index of this frame in decoding order (a field pair counts once)
    int64_t  pts;              ///< pts of the packet that started this picture (codec time base), AV_NOPTS_VALUE if unknown
    int64_t  dts;              ///< dts of that packet, AV_NOPTS_VALUE if unknown
    int32_t  pict_type;        ///< enum AVPictureType of the picture (I if all slices are I, else P if no B slice, else B)
    int32_t  poc;              ///< picture order count
    int32_t  qp;               ///< frame QP (see the patch for its exact definition)
    int32_t  coded_width;      ///< luma width of the grids' coverage (mb_width * 16)
    int32_t  coded_height;     ///< luma height of the grids' coverage
    int32_t  block_size;       ///< luma samples per side of one grid block (4)
    int32_t  blocks_w, blocks_h; ///< block grid size
    int32_t  mb_size;          ///< luma samples per side of one macroblock (16)
    int32_t  mbs_w, mbs_h;     ///< macroblock grid size
    int32_t  nb_refs[2];       ///< active entries of the reference lists
    int64_t  ref_decode_index[2][AV_CODEC_INFO_MAX_REFS]; ///< decode_index of each list entry, -1 if unknown
    int32_t  ref_poc[2][AV_CODEC_INFO_MAX_REFS];          ///< POC of each list entry

    uint32_t block_type_offset;     ///< uint8_t [blocks_h][blocks_w], enum AVCodecInfoBlockType
    uint32_t mv_offset[2];          ///< int16_t [blocks_h][blocks_w][2], (x, y) in quarter samples
    uint32_t ref_idx_offset[2];     ///< int8_t [blocks_h][blocks_w], index into the list, -1 if the list is unused
    uint32_t mb_qp_offset;          ///< int8_t [mbs_h][mbs_w], QP of each macroblock
    uint32_t residual_offset[3];    ///< int16_t planes Y, U, V: what the decoder adds to the prediction, before clipping and deblocking
    int32_t  residual_linesize[3];  ///< bytes per residual row
    int32_t  residual_width[3];     ///< samples per residual row
    int32_t  residual_height[3];    ///< residual rows
} AVCodecInfo;

#endif /* AVUTIL_CODEC_INFO_H */
