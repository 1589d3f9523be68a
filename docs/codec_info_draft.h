/*
 * SUPERSEDED: the contract is libavutil/codec_info.h from
 * ffmpeg_patches/0001-avutil-codec_info-*.patch (and its fixups), installed as
 * build/ffmpeg-install/include/libavutil/codec_info.h
 * (also build/ffmpeg-src/libavutil/codec_info.h).
 *
 * Changes from this draft: flags (AV_CODEC_INFO_FLAG_*), crop_left, crop_top
 * and bit_depth after qp; mb_residual_offset (per-MB "residual may be
 * non-zero" bits) after nb_refs, so the struct has no implicit padding;
 * AV_CODEC_INFO_BLOCK_LOST for macroblocks no slice covered; every array
 * offset is a multiple of 64; av_codec_info_array() helper.
 */
#include <libavutil/codec_info.h>
