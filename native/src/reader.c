/*
 * The reader: demux one video stream, decode it with the export options set,
 * and hand out frames that own references to the decoder's buffers.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avstring.h>
#include <libavutil/codec_info.h>
#include <libavutil/cpu.h>
#include <libavutil/dict.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "internal.h"

/* DTS of the last packets, by packet index: frames leave the decoder at most
 * reorder depth + frame threads packets after their own packet. */
#define DTS_RING 1024

struct CvsrReader {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVStream *st;
    AVPacket *pkt;
    AVFrame *frame;
    CvsrOptions opts;
    enum AVPixelFormat out_fmt;
    struct SwsContext *sws;
    int64_t nb_packets;       ///< packets of the stream sent so far
    int64_t nb_output;        ///< frames handed out so far
    int64_t nb_errors;        ///< packets or frames the decoder rejected
    int draining;             ///< the demuxer reached EOF, the decoder is being flushed
    int64_t dts_ring[DTS_RING];
};

typedef struct FramePriv {
    AVFrame *frame;
} FramePriv;

void cvsr_options_default(CvsrOptions *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->threads = 0;
    opts->thread_type = CVSR_THREAD_AUTO;
    opts->export_codec_info = 1;
    opts->pix_fmt = CVSR_PIX_YUV420P;
}

static int check_options(const CvsrOptions *o)
{
    if (o->threads < 0 || o->threads > 64)
        return cvsr_set_error(AVERROR(EINVAL), "threads must be 0 (auto) to 64, got %d", o->threads);
    if (o->thread_type < CVSR_THREAD_AUTO || o->thread_type > CVSR_THREAD_SLICE)
        return cvsr_set_error(AVERROR(EINVAL), "unknown thread_type %d", o->thread_type);
    if (o->pix_fmt != CVSR_PIX_YUV420P && o->pix_fmt != CVSR_PIX_RGB24 && o->pix_fmt != CVSR_PIX_NATIVE)
        return cvsr_set_error(AVERROR(EINVAL), "unknown pix_fmt %d", o->pix_fmt);
    return 0;
}

/* The format handed out for a decoded frame of format src. */
static enum AVPixelFormat output_format(const CvsrReader *r, int src)
{
    static const enum AVPixelFormat native[] = {
        AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUVJ422P,
        AV_PIX_FMT_YUV444P, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV440P, AV_PIX_FMT_YUVJ440P,
    };

    if (r->opts.pix_fmt == CVSR_PIX_RGB24)
        return AV_PIX_FMT_RGB24;
    if (src == AV_PIX_FMT_YUVJ420P)
        return src;                       /* same layout as yuv420p: never converted */
    if (r->opts.pix_fmt == CVSR_PIX_NATIVE)
        for (size_t i = 0; i < sizeof(native) / sizeof(native[0]); i++)
            if (src == native[i])
                return src;
    return AV_PIX_FMT_YUV420P;
}

static int open_decoder(CvsrReader *r, const char *url, const AVCodec *codec)
{
    const CvsrOptions *o = &r->opts;
    AVDictionary *dict = NULL;
    int ret;

    r->dec = avcodec_alloc_context3(codec);
    if (!r->dec)
        return cvsr_set_error(AVERROR(ENOMEM), "%s: allocating the decoder", url);
    ret = avcodec_parameters_to_context(r->dec, r->st->codecpar);
    if (ret < 0)
        return cvsr_set_error(ret, "%s: decoder parameters", url);
    r->dec->pkt_timebase = r->st->time_base;
    r->dec->flags |= AV_CODEC_FLAG_COPY_OPAQUE;

    if (o->decoder_options && o->decoder_options[0]) {
        ret = av_dict_parse_string(&dict, o->decoder_options, "=", ":", 0);
        if (ret < 0) {
            av_dict_free(&dict);
            return cvsr_set_error(ret, "%s: bad decoder_options \"%s\"", url, o->decoder_options);
        }
    }
    r->dec->thread_count = o->threads;
    r->dec->thread_type = o->thread_type == CVSR_THREAD_FRAME ? FF_THREAD_FRAME :
                          o->thread_type == CVSR_THREAD_SLICE ? FF_THREAD_SLICE :
                          FF_THREAD_FRAME | FF_THREAD_SLICE;
    if (o->export_codec_info) {
        r->dec->export_side_data |= AV_CODEC_EXPORT_DATA_CODEC_INFO;
        /* crop exactly as the stream says: the codec info places the frame in
         * the coded picture at (crop_left, crop_top), which a left crop
         * rounded down to keep the planes aligned would contradict */
        r->dec->flags |= AV_CODEC_FLAG_UNALIGNED;
    }
    if (o->export_mvs)
        r->dec->export_side_data |= AV_CODEC_EXPORT_DATA_MVS;

    ret = avcodec_open2(r->dec, codec, &dict);
    if (ret >= 0 && av_dict_count(dict)) {
        const AVDictionaryEntry *e = av_dict_iterate(dict, NULL);
        ret = cvsr_set_error(AVERROR_OPTION_NOT_FOUND, "%s: unknown decoder option \"%s\"", url, e->key);
        av_dict_free(&dict);
        return ret;
    }
    av_dict_free(&dict);
    if (ret < 0)
        return cvsr_set_error(ret, "%s: opening the %s decoder", url, codec->name);
    return 0;
}

int cvsr_open(CvsrReader **out, const char *url, const CvsrOptions *opts)
{
    CvsrReader *r;
    const AVCodec *codec = NULL;
    const AVPixFmtDescriptor *desc;
    int ret, idx;

    cvsr_clear_error();
    cvsr_install_log_callback();
    if (!out)
        return cvsr_set_error(AVERROR(EINVAL), "cvsr_open: out is NULL");
    *out = NULL;
    if (!url)
        return cvsr_set_error(AVERROR(EINVAL), "cvsr_open: url is NULL");

    r = av_mallocz(sizeof(*r));
    if (!r)
        return cvsr_set_error(AVERROR(ENOMEM), "%s: allocating the reader", url);
    if (opts)
        r->opts = *opts;
    else
        cvsr_options_default(&r->opts);
    r->opts.decoder_options = NULL; /* not kept: the caller owns the string */
    ret = check_options(&r->opts);
    if (ret < 0)
        goto fail;

    ret = avformat_open_input(&r->fmt, url, NULL, NULL);
    if (ret < 0) {
        cvsr_set_error(ret, "%s: opening", url);
        goto fail;
    }
    ret = avformat_find_stream_info(r->fmt, NULL);
    if (ret < 0) {
        cvsr_set_error(ret, "%s: reading stream info", url);
        goto fail;
    }
    idx = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (idx < 0) {
        ret = idx;
        cvsr_set_error(ret, "%s: finding a video stream%s", url,
                       ret == AVERROR_DECODER_NOT_FOUND ? " with a decoder in this build (h264, hevc, ...)" : "");
        goto fail;
    }
    r->st = r->fmt->streams[idx];
    r->out_fmt = output_format(r, r->st->codecpar->format);
    for (unsigned i = 0; i < r->fmt->nb_streams; i++)
        if ((int)i != idx)
            r->fmt->streams[i]->discard = AVDISCARD_ALL;

    desc = av_pix_fmt_desc_get(r->st->codecpar->format);
    if (r->opts.export_codec_info && r->st->codecpar->codec_id == AV_CODEC_ID_H264 &&
        desc && desc->comp[0].depth > 8) {
        ret = cvsr_set_error(AVERROR(ENOSYS),
                             "%s: %d-bit H.264 (%s): the codec-info export supports 8-bit H.264 only; "
                             "open with export off to decode the pixels (converted to 8 bit)",
                             url, desc->comp[0].depth, desc->name);
        goto fail;
    }

    if (r->opts.export_codec_info && r->st->codecpar->codec_id == AV_CODEC_ID_H264 &&
        r->st->codecpar->field_order != AV_FIELD_UNKNOWN &&
        r->st->codecpar->field_order != AV_FIELD_PROGRESSIVE) {
        ret = cvsr_set_error(AVERROR(ENOSYS),
                             "%s: interlaced H.264 (field pictures or MBAFF): the codec-info export "
                             "supports progressive frames only; open with export off to decode the pixels",
                             url);
        goto fail;
    }

    r->opts.decoder_options = opts ? opts->decoder_options : NULL;
    ret = open_decoder(r, url, codec);
    r->opts.decoder_options = NULL;
    if (ret < 0)
        goto fail;

    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->pkt || !r->frame) {
        ret = cvsr_set_error(AVERROR(ENOMEM), "%s: allocating frames", url);
        goto fail;
    }
    *out = r;
    return 0;

fail:
    cvsr_close(&r);
    return ret;
}

void cvsr_close(CvsrReader **pr)
{
    CvsrReader *r = pr ? *pr : NULL;

    if (!r)
        return;
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    av_freep(pr);
}

int cvsr_stream_info(const CvsrReader *r, CvsrStreamInfo *info)
{
    const AVCodecParameters *par;
    const AVPixFmtDescriptor *desc;
    AVRational fps;

    cvsr_clear_error();
    if (!r || !info)
        return cvsr_set_error(AVERROR(EINVAL), "cvsr_stream_info: NULL argument");
    par = r->st->codecpar;
    memset(info, 0, sizeof(*info));
    info->width = r->dec->width ? r->dec->width : par->width;
    info->height = r->dec->height ? r->dec->height : par->height;
    info->coded_width = r->dec->coded_width;
    info->coded_height = r->dec->coded_height;
    info->time_base_num = r->st->time_base.num;
    info->time_base_den = r->st->time_base.den;
    fps = r->st->avg_frame_rate.num ? r->st->avg_frame_rate : r->st->r_frame_rate;
    info->fps_num = fps.num;
    info->fps_den = fps.num ? fps.den : 1;
    info->nb_frames = r->st->nb_frames;
    info->duration = r->st->duration;
    info->start_time = r->st->start_time;
    info->has_b_frames = r->dec->has_b_frames;
    desc = av_pix_fmt_desc_get(par->format);
    info->bit_depth = desc ? desc->comp[0].depth : 0;
    info->profile = par->profile;
    info->level = par->level;
    info->stream_index = r->st->index;
    av_strlcpy(info->codec_name, avcodec_get_name(par->codec_id), sizeof(info->codec_name));
    av_strlcpy(info->pix_fmt, desc ? desc->name : "none", sizeof(info->pix_fmt));
    av_strlcpy(info->out_pix_fmt, av_get_pix_fmt_name(r->out_fmt), sizeof(info->out_pix_fmt));
    return 0;
}

int64_t cvsr_decode_errors(const CvsrReader *r)
{
    return r ? r->nb_errors : 0;
}

/* Convert src into a new frame of format fmt, keeping its properties and side data. */
static int convert(CvsrReader *r, AVFrame *src, enum AVPixelFormat fmt, AVFrame **out)
{
    AVFrame *dst = av_frame_alloc();
    int ret;

    if (!dst)
        return AVERROR(ENOMEM);
    dst->format = fmt;
    dst->width = src->width;
    dst->height = src->height;
    ret = av_frame_get_buffer(dst, 0);
    if (ret < 0)
        goto fail;
    ret = av_frame_copy_props(dst, src);
    if (ret < 0)
        goto fail;
    r->sws = sws_getCachedContext(r->sws, src->width, src->height, src->format,
                                  dst->width, dst->height, dst->format,
                                  SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!r->sws) {
        ret = AVERROR(EINVAL);
        goto fail;
    }
    if (fmt == AV_PIX_FMT_RGB24) {
        int full = src->color_range == AVCOL_RANGE_JPEG || src->format == AV_PIX_FMT_YUVJ420P;
        int cs = src->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
        const int *coefs = sws_getCoefficients(cs);
        sws_setColorspaceDetails(r->sws, coefs, full, coefs, 1, 0, 1 << 16, 1 << 16);
    }
    ret = sws_scale(r->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
                    dst->data, dst->linesize);
    if (ret < 0)
        goto fail;
    *out = dst;
    return 0;
fail:
    av_frame_free(&dst);
    return ret;
}

static int make_frame(CvsrReader *r, CvsrFrame **out)
{
    AVFrame *src = r->frame, *img = NULL;
    CvsrFrame *f;
    FramePriv *priv;
    const AVFrameSideData *sd;
    int64_t pkt_index = (int64_t)(intptr_t)src->opaque;
    enum AVPixelFormat out_fmt = AV_PIX_FMT_NONE;
    int ret;

    f = av_mallocz(sizeof(*f) + sizeof(*priv));
    if (!f) {
        av_frame_unref(src);
        return cvsr_set_error(AVERROR(ENOMEM), "allocating a frame");
    }
    priv = (FramePriv *)(f + 1);
    f->priv = priv;

    out_fmt = output_format(r, src->format);
    if (src->format == out_fmt) {
        img = av_frame_alloc();
        if (!img) {
            ret = AVERROR(ENOMEM);
            goto fail;
        }
        av_frame_move_ref(img, src);
    } else {
        ret = convert(r, src, out_fmt, &img);
        av_frame_unref(src);
        if (ret < 0)
            goto fail;
    }
    priv->frame = img;

    f->width = img->width;
    f->height = img->height;
    if (out_fmt == AV_PIX_FMT_RGB24) {
        f->nb_planes = 1;
        f->plane_width[0] = img->width * 3;
        f->plane_height[0] = img->height;
    } else {
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(out_fmt);
        f->nb_planes = 3;
        f->plane_width[0] = img->width;
        f->plane_height[0] = img->height;
        f->plane_width[1] = f->plane_width[2] = AV_CEIL_RSHIFT(img->width, desc->log2_chroma_w);
        f->plane_height[1] = f->plane_height[2] = AV_CEIL_RSHIFT(img->height, desc->log2_chroma_h);
    }
    for (int i = 0; i < f->nb_planes; i++) {
        f->data[i] = img->data[i];
        f->linesize[i] = img->linesize[i];
    }
    f->pts = img->pts != AV_NOPTS_VALUE ? img->pts : img->best_effort_timestamp;
    f->packet_index = pkt_index;
    f->pkt_dts = pkt_index >= 0 && pkt_index < r->nb_packets && r->nb_packets - pkt_index <= DTS_RING ?
                 r->dts_ring[pkt_index % DTS_RING] : AV_NOPTS_VALUE;
    f->duration = img->duration;
    f->output_index = r->nb_output++;
    f->pict_type = av_get_picture_type_char(img->pict_type);
    f->key_frame = !!(img->flags & AV_FRAME_FLAG_KEY);
    f->corrupt = !!(img->flags & AV_FRAME_FLAG_CORRUPT) || img->decode_error_flags;
    if (f->corrupt && r->opts.strict) {
        av_frame_free(&priv->frame);
        av_free(f);
        return cvsr_set_error(AVERROR_INVALIDDATA, "frame %" PRId64 " is corrupt (the decoder concealed "
                              "errors)", r->nb_output - 1);
    }

    sd = av_frame_get_side_data(img, AV_FRAME_DATA_CODEC_INFO);
    if (sd) {
        f->codec_info = sd->data;
        f->codec_info_size = sd->size;
    }
    sd = av_frame_get_side_data(img, AV_FRAME_DATA_MOTION_VECTORS);
    if (sd) {
        f->motion_vectors = sd->data;
        f->motion_vectors_size = sd->size;
    }
    *out = f;
    return 1;

fail:
    av_frame_free(&img);
    av_free(f);
    return cvsr_set_error(ret, "frame %" PRId64 ": converting to %s", r->nb_output,
                          out_fmt == AV_PIX_FMT_NONE ? "?" : av_get_pix_fmt_name(out_fmt));
}

/* Errors that skipping the packet cannot cure: out of memory, or a stream the
 * export does not support (the decoder rejects each of its pictures). */
static int fatal_error(int err)
{
    return err == AVERROR(ENOMEM) || err == AVERROR_PATCHWELCOME || err == AVERROR(ENOSYS);
}

int cvsr_read_frame(CvsrReader *r, CvsrFrame **out)
{
    int ret;

    cvsr_clear_error();
    if (!out)
        return cvsr_set_error(AVERROR(EINVAL), "cvsr_read_frame: out is NULL");
    *out = NULL;
    if (!r)
        return cvsr_set_error(AVERROR(EINVAL), "cvsr_read_frame: reader is NULL");

    for (;;) {
        ret = avcodec_receive_frame(r->dec, r->frame);
        if (ret >= 0)
            return make_frame(r, out);
        if (ret == AVERROR_EOF) {
            if (!r->nb_output && r->nb_errors)
                return cvsr_set_error(AVERROR_INVALIDDATA, "no frame could be decoded, the decoder "
                                      "rejected %" PRId64 " packet(s)", r->nb_errors);
            return 0;
        }
        if (ret != AVERROR(EAGAIN)) {
            /* With frame threading, a packet's decoding error surfaces here. */
            r->nb_errors++;
            if (r->opts.strict || fatal_error(ret))
                return cvsr_set_error(ret, "decoding (packet %" PRId64 ")", r->nb_packets - 1);
            continue;
        }
        if (r->draining)
            return cvsr_set_error(AVERROR_BUG, "decoder wants input after the end of the stream");

        ret = av_read_frame(r->fmt, r->pkt);
        if (ret == AVERROR_EOF || (ret < 0 && !r->opts.strict && ret != AVERROR(ENOMEM) &&
                                   avio_feof(r->fmt->pb))) {
            /* End of input, or a read error at the end of a truncated file: flush. */
            if (ret != AVERROR_EOF)
                r->nb_errors++;
            r->draining = 1;
            ret = avcodec_send_packet(r->dec, NULL);
            if (ret < 0 && ret != AVERROR_EOF)
                return cvsr_set_error(ret, "flushing the decoder");
            continue;
        }
        if (ret < 0)
            return cvsr_set_error(ret, "reading packet %" PRId64, r->nb_packets);
        if (r->pkt->stream_index != r->st->index) {
            av_packet_unref(r->pkt);
            continue;
        }
        r->pkt->opaque = (void *)(intptr_t)r->nb_packets;
        r->dts_ring[r->nb_packets % DTS_RING] = r->pkt->dts;
        r->nb_packets++;
        ret = avcodec_send_packet(r->dec, r->pkt);
        av_packet_unref(r->pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN)) {
            r->nb_errors++;
            if (r->opts.strict || fatal_error(ret))
                return cvsr_set_error(ret, "decoding packet %" PRId64, r->nb_packets - 1);
        }
    }
}

void cvsr_frame_free(CvsrFrame **pf)
{
    CvsrFrame *f = pf ? *pf : NULL;

    if (!f)
        return;
    av_frame_free(&((FramePriv *)f->priv)->frame);
    av_freep(pf);
}
