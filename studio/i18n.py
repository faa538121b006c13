"""English and Simplified Chinese: the message catalog, the visitor's language, and localized text.

Two kinds of text, two ways to translate it:

* Static page text (labels, hints, buttons, tab titles, constant Markdown) is a key of ``UI``, a ``gr.I18n`` given
  to ``launch(i18n=UI)``: the browser picks the language (Gradio's frontend, from ``navigator.language``).
  ``UI("ui.generate")`` wherever a label or value is written. Text that is fixed when the page is built but has
  numbers in it (the first cost line, the seed range) is registered under a content key by ``page_text``.
* Everything the server says later (status, errors, notes, History) is rendered on the server in the language of
  the request's ``Accept-Language`` header (``language_of``): ``t(lang, key, **params)``.

Errors and statuses carry their message as a ``Msg``: a ``str`` (the English text, exactly as before, so every
caller that treats it as a string is unchanged) that also knows its catalog key and parameters, so
``localize(thing, lang)`` can say it in Chinese. Parameters may themselves be ``Msg``, ``Label`` (a field's or
provider's name, e.g. "First frame" -> 首帧) or ``Join`` (a list joined the way each language joins lists).

This module imports nothing from the studio and no Gradio until ``UI`` is first used, so the simulator and the
request checks can use it freely.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

LANGUAGES = ("en", "zh-CN")
DEFAULT = "en"

# --- the catalog ----------------------------------------------------------------------------------------------
# Keys: "ui.*" static page text (sent to the browser); "label.*" names of fields, tabs, providers and key sources
# (the part after "label." is the English name itself); everything else is rendered on the server.

EN: dict[str, str] = {
    # page
    "ui.tagline": "Generate video with Runway's API.",
    "ui.sim_banner": (
        "**Simulator:** clips here are simulated placeholders made from your inputs, and cost nothing. "
        "To generate for real, choose openai-hk or Runway in Settings and enter your key."
    ),
    "ui.storage_warning": (
        "**History is on this Space's temporary disk** and is lost when the Space restarts. "
        "The host can attach persistent storage (mounted at /data) to keep it."
    ),
    "ui.sign_in": "Sign in to keep your history with your Hugging Face account, on any browser.",
    "ui.settings": "Settings",
    "ui.provider": "Provider",
    "ui.provider_simulator": "Simulator",
    "ui.api_key": "Your API key (optional)",
    "ui.api_key_help": "Never stored or shown: used for your requests in this tab only.",
    "ui.tab_i2v": "Image to Video",
    "ui.tab_v2v": "Video to Video",
    "ui.tab_cp": "Character Performance",
    "ui.tab_history": "History",
    # result panel
    "ui.result": "Result",
    "ui.download_mp4": "Download MP4",
    "ui.to_first": "Use last frame as first frame",
    "ui.to_v2v": "Send to Video to Video",
    "ui.to_character": "Use as character",
    "ui.copy_as_code": "Copy as code",
    "ui.copy_as_code_note": "The exact request sent. The key is read from `$STUDIO_API_KEY`; uploaded files are elided.",
    "ui.status_idle": "Ready. Fill in the form and press Generate.",
    # shared controls
    "ui.model": "Model",
    "ui.ratio": "Ratio",
    "ui.random_seed": "Random seed",
    "ui.seed": "Seed",
    "ui.prompt": "Prompt",
    "ui.generate": "Generate",
    "ui.cancel": "Cancel",
    "ui.url_placeholder": "…or an https:// link",
    "ui.examples": "Examples (one click, then Generate)",
    "ui.public_figure_threshold": "Public-figure threshold",
    "ui.threshold_auto": "Auto",
    "ui.threshold_low": "Low (stricter)",
    # image to video
    "ui.first_frame": "First frame",
    "ui.first_frame_link": "First frame link",
    "ui.last_frame": "Last frame",
    "ui.last_frame_link": "Last frame link",
    "ui.i2v_prompt_placeholder": "Describe the motion: “the camera drifts toward the lighthouse as waves roll in”",
    "ui.duration_s": "Duration (s)",
    "ui.fit": "Fit the image to the ratio",
    "ui.fit_crop": "Crop to fill (centred)",
    "ui.fit_pad": "Pad to fit",
    "ui.fit_as_is": "As is",
    "ui.openai_hk_options": "openai-hk options",
    "ui.watermark": "Watermark",
    "ui.notify_hook": "Notify hook (https URL called when the task ends)",
    "ui.what_will_be_sent": "What will be sent",
    "ui.first_frame_as_sent": "First frame as sent",
    # video to video
    "ui.input_video": "Input video",
    "ui.input_video_link": "Input video link",
    "ui.reference_image": "Reference image (style)",
    "ui.reference_image_link": "Reference image link",
    "ui.v2v_prompt_placeholder": "What to change: “turn it into a watercolour painting at golden hour”",
    # character performance
    "ui.character_as": "Character as",
    "ui.character_image_choice": "Image",
    "ui.character_video_choice": "Video",
    "ui.character_image": "Character image",
    "ui.character_video": "Character video",
    "ui.character_link": "Character link",
    "ui.character_hint": "The character should show a recognisable face that stays in frame.",
    "ui.reference_performance": "Reference performance video",
    "ui.reference_performance_link": "Reference performance link",
    "ui.body_control": "Body control (follow body motion, not only the face)",
    "ui.expression_intensity": "Expression intensity",
    # history
    "ui.history_intro": "Your generations appear here, newest first.",
    "ui.refresh": "Refresh",
    "ui.your_generations": "Your generations",
    "ui.clip": "Clip",
    "ui.reuse": "Reuse settings",
    "ui.delete": "Delete",
    # names used inside messages
    "label.Model": "Model",
    "label.Frames": "Frames",
    "label.Prompt": "Prompt",
    "label.Ratio": "Ratio",
    "label.Duration": "Duration",
    "label.Seed": "Seed",
    "label.Watermark": "Watermark",
    "label.Notify hook": "Notify hook",
    "label.Public figure threshold": "Public figure threshold",
    "label.Input video": "Input video",
    "label.Reference image": "Reference image",
    "label.Character": "Character",
    "label.Reference performance video": "Reference performance video",
    "label.Body control": "Body control",
    "label.Expression intensity": "Expression intensity",
    "label.Fit the image to the ratio": "Fit the image to the ratio",
    "label.First frame": "First frame",
    "label.Last frame": "Last frame",
    "label.Endpoint": "Endpoint",
    "label.Request": "Request",
    "label.API key": "API key",
    "label.Cost": "Cost",
    "label.Video": "Video",
    "label.Output": "Output",
    "label.Image to Video": "Image to Video",
    "label.Video to Video": "Video to Video",
    "label.Character Performance": "Character Performance",
    "label.Simulator": "Simulator",
    "label.simulator": "simulator",
    "label.server key": "server key",
    "label.your key": "your key",
    "label.none": "none",
    # status panel
    "phase.preparing": "Preparing inputs",
    "phase.submitting": "Submitting",
    "phase.queued": "Queued",
    "phase.throttled": "Throttled: waiting for a slot",
    "phase.running": "Running",
    "phase.downloading": "Downloading",
    "phase.succeeded": "Succeeded",
    "phase.failed": "Failed",
    "phase.cancelled": "Cancelled",
    "phase.lost": "Lost",
    "phase.interrupted": "Interrupted",
    "status.idle": "Ready. Fill in the form and press Generate.",
    "status.task": "task",
    "status.elapsed": "{seconds:.1f} s",
    "status.seed_used": "Seed used: {seed}",
    "status.not_sent": "Not sent",
    "status.fix_form": "fix the form and try again (nothing was charged)",
    # job messages
    "job.preparing": "Checking the form and preparing your inputs…",
    "job.sending": "Sending the request…",
    "job.checking": "Checking on the task…",
    "job.broken": (
        "Something went wrong while following this task. It is kept in History and the studio will check on it again."
    ),
    "job.created": "Created; waiting for the provider to start it.",
    "job.lost": "The provider no longer knows this task (a restarted simulator forgets its tasks).",
    "job.not_shown_yet": (
        "The provider has not shown this task yet. It stays in History and the studio keeps checking it in the "
        "background."
    ),
    "job.link_expired": (
        "The provider's link to this clip has expired or was refused ({error}), so the studio could not keep a "
        "copy. Generate it again."
    ),
    "job.keeps_checking": "{error} It stays in History and the studio keeps checking it in the background.",
    "job.queued": "Queued: the provider will start it shortly.",
    "job.throttled": "Waiting for a free slot on your account (throttled). It will start on its own.",
    "job.generating": "Generating…",
    "job.cancelled": "Cancelled.",
    "job.no_output": "The task succeeded but the provider sent no output link.",
    "job.keeping": "Done; keeping a copy of the video…",
    "job.retry_download": "{error} The studio will try again in the background.",
    "job.ready": "Your video is ready.",
    "job.cancel_failed": "Stopped watching, but cancelling the task failed: {error}",
    "job.cancelled_remote": "Cancelled. The task was stopped on the provider.",
    "job.nothing_to_cancel": "Nothing to cancel: no generation is running.",
    "job.stopped_while_sending": (
        "The studio stopped while sending this request. The task may exist on the provider and be billed; check the "
        "provider's dashboard before trying again."
    ),
    # page text rendered on the server
    "page.key_in_use": "**Key in use:** {source}",
    "page.key_none": "**Key in use:** none. {provider} needs a key: enter yours above.",
    "page.no_clip": "No clip yet: generate one first.",
    "page.cost_per_second": "Cost: {credits} credits (${usd:.2f}) per second of output.",
    "page.cost": "Cost: {estimate}.",
    "page.cost_free": "Cost: {estimate} (free on the simulator).",
    "page.estimate": "about {credits} credits, ${usd:.2f} for {seconds:g} s",
    "page.last_frame_ok": "Optional: the clip ends on this image.",
    "page.no_last_frame": "⚠ {model} does not take a last frame.",
    "page.no_last_frame_choose": "⚠ {model} does not take a last frame. Choose {models} to use one.",
    "page.this_model": "this model",
    "page.unavailable": "⚠ {provider} does not offer {tab}. Choose {providers} in Settings.",
    "page.preview": "{width}×{height}, fitted by {fit}.",
    "fit.crop": "crop",
    "fit.pad": "pad",
    "fit.as-is": "as-is",
    "page.video_length": "This video is {seconds:.1f} s long. ",
    "page.first_seconds_used": "Only the first {seconds:g} s are used.",
    "page.allowed_length": "{low:g}–{high:g} s allowed",
    "page.reference_follows": "The output follows the reference's length ({allowed}).",
    "page.reference_length": "Reference length: {seconds:.1f} s ({allowed}).",
    "page.reference_length_bad": "⚠ Reference length: {seconds:.1f} s ({allowed}).",
    "page.warning": "⚠ {text}",
    "page.seed_empty": "Seed is empty. Enter a whole number, or tick Random seed.",
    # history
    "history.status.submitting": "Submitting",
    "history.status.queued": "Queued",
    "history.status.throttled": "Throttled",
    "history.status.running": "Running",
    "history.status.downloading": "Downloading",
    "history.status.succeeded": "Succeeded",
    "history.status.failed": "Failed",
    "history.status.cancelled": "Cancelled",
    "history.status.lost": "Lost",
    "history.count": "{count} generation(s)",
    "history.count_running": "{count} generation(s), {running} running",
    "history.empty": "Nothing yet: your generations will appear here, newest first, and stay until you delete them.",
    "history.credits": "{credits:g} credits",
    "history.credits_estimate": "about {credits} credits (estimate)",
    "history.headline": "**{tab}** · `{model}` on {provider} · {status}",
    "history.prompt": "**Prompt:** {prompt}",
    "history.facts": "**Length:** {seconds:g} s · **Cost:** {cost} · **Seed:** {seed} · **Made:** {made}",
    "history.task": "**Task:** `{task}` · key: {key_source}",
    "history.not_created": "not created",
    "history.why_failed": "**Why it failed:** {reason}",
    "history.lineage": "**Lineage:** {steps} → this",
    "history.step": "{tab} ({model})",
    "history.choose_first": "Choose one of your generations first.",
    "history.no_clip": "This generation has no clip to use.",
    # checks of a request (requests.py, forms.py)
    "req.unknown_endpoint": "Unknown endpoint {endpoint!r}.",
    "req.not_object": "The request body must be a JSON object.",
    "req.required": "{field} is required.",
    "req.not_a_field": "{name} is not a field of this request.",
    "req.whole_number": "{field} must be a whole number (got {value!r}).",
    "req.true_or_false": "{field} must be true or false (got {value!r}).",
    "req.not_allowed": "{field}: {value!r} is not allowed. Choose one of {expected}.",
    "req.shape": "{field}: {detail}.",
    "req.provider_lacks_tab": "{provider} does not offer {tab}; no model is available for it there.",
    "req.model_unavailable": "Model {model} is not available for {tab} on {provider}. Choose {choices}.",
    "req.seed_range": "Seed {seed} is out of range. Use a whole number from {low} to {high}.",
    "req.ratio_required": "Ratio is required for {model}. Choose one of {choices}.",
    "req.ratio_unavailable": "Ratio {ratio} is not available for {model}. Choose one of {choices}.",
    "req.no_moderation": "{model} takes no content moderation setting.",
    "req.prompt_required": "Prompt is required for {model}. Describe the motion you want.",
    "req.prompt_spaces_required": "Prompt is only spaces. Write a prompt.",
    "req.prompt_spaces": "Prompt is only spaces. Write a prompt or leave it empty.",
    "req.prompt_control": "Prompt contains {count} control character(s) (such as U+{code:04X}). Remove them.",
    "req.prompt_too_long": (
        "Prompt is {length} characters long (emoji count as 2); at most {cap} are allowed. Shorten it by {over}."
    ),
    "req.field_problem": "{field}: {problem}.",
    "req.duration_unavailable": (
        "Duration {duration} s is not available for {model} on {provider}. Choose {choices} seconds."
    ),
    "req.first_frame_required": "First frame is required. Upload an image or give an https link.",
    "req.frame_once": "Each frame position can be given once only.",
    "req.no_last_frame_anywhere": "Last frame is not supported by any model on {provider}.",
    "req.last_frame_only": "Last frame is supported by {models} only.",
    "req.openai_hk_only": "{field} is only available on openai-hk, not on {provider}.",
    "req.too_many_references": "{model} takes at most {most} reference image(s); {given} were given.",
    "req.character_type": "Character must be one of: {choices}.",
    "req.reference_video": "The reference performance must be a video.",
    "req.intensity_range": "Expression intensity {value} is out of range. Choose {low} to {high}.",
    "form.required": "{field} is required. Upload a file or give an https link.",
    "form.trimmed": "{field}: only the first {keep:g} s of {total:.1f} s are used.",
    "form.reencoded": "{field}: re-encoded to H.264 to fit the upload limit.",
    # links and data URIs (uris.py)
    "uri.too_long": "the link is {length} characters long; at most {most} are allowed",
    "uri.spaces": "the link contains spaces or control characters",
    "uri.https_only": "only https:// links are allowed (this one uses {scheme}:)",
    "uri.https_only_no_scheme": "only https:// links are allowed (this one uses no scheme)",
    "uri.no_host": "the link has no host name",
    "uri.credentials": "links with a user name or password are not allowed",
    "uri.ip_address": "the link must name a domain, not an IP address ({host})",
    "uri.not_public": "{host} is not a public domain name",
    "uri.data_shape": "a data URI must look like data:{kind}/…;base64,…",
    "uri.data_wrong_kind_image": "a {mime} data URI was given where an image is expected",
    "uri.data_wrong_kind_video": "a {mime} data URI was given where a video is expected",
    "uri.data_too_large_image": "the encoded image is {size}; at most {cap} can be sent",
    "uri.data_too_large_video": "the encoded video is {size}; at most {cap} can be sent",
    "uri.data_base64": "the data URI is not valid base64",
    "unit.bytes": "{count} bytes",
    # images and videos (studio/media/)
    "media.detail": "{field}: {detail}",
    "media.unreadable_file": "the file could not be read ({reason})",
    "media.use_image": "Use a {formats} image.",
    "media.empty_image": "the file is empty (0 bytes). {advice}",
    "media.format_refused": "{kind} images are not accepted. {advice}",
    "media.format_refused_unknown": "This kind of images are not accepted. {advice}",
    "media.not_an_image": "the file is not an image that can be read. {advice}",
    "media.image_unreadable": "the image could not be read. {advice}",
    "media.image_too_large_size": (
        "the image is {width}x{height} pixels, too large to process. Use an image of at most {megapixels} megapixels "
        "with sides up to {side} px."
    ),
    "media.image_too_large": (
        "the image is too large to process. Use an image of at most {megapixels} megapixels with sides up to {side} px."
    ),
    "media.no_pixels": "the image has no pixels. {advice}",
    "media.as_is_aspect": (
        'the image is {width}x{height} (aspect {aspect:.2f}); with "as-is" the aspect (width / height) must be '
        "between {low:g} and {high:g}. Choose crop or pad instead."
    ),
    "media.image_too_large_decoded": "the image is too large to process. Use a smaller image.",
    "media.image_damaged": (
        "the image is damaged or incomplete (was the upload cut short?) and cannot be read. Export it again."
    ),
    "media.no_writable_format": "none of the accepted formats ({formats}) can be written by the studio.",
    "media.image_cannot_fit": (
        "the image cannot be made to fit {cap}, the most an encoded image may take: even scaled down and compressed "
        "it takes {smallest}. Use a simpler image."
    ),
    "media.empty_video": "the file is empty (0 bytes). Use an MP4, MOV or WebM video.",
    "media.still_image": "this is a still image, not a video. Use an MP4, MOV or WebM video.",
    "form.fit_choices": "{field} must be crop, pad or as-is (got {value}).",
    "media.not_a_video": "the file is not a video that can be read. Use an MP4, MOV or WebM video.",
    "media.sound_only": "the file has no picture, only sound. Use a video file (MP4, MOV or WebM).",
    "media.no_frames": "the video has no frames (it is 0 s long). Use a video with at least one frame.",
    "media.video_damaged": "the video is damaged and could not be decoded. Use another file.",
    "media.no_length": "the video has no length (0 s). Use a video with at least one frame.",
    "media.length_between": "between {low:g} and {high:g} s long",
    "media.length_at_least": "at least {low:g} s long",
    "media.length_at_most": "at most {high:g} s long",
    "media.bad_length": "the video is {seconds} s long; it must be {allowed}.",
    "media.video_too_large": (
        "the video is too large to send even after re-encoding ({smallest}; at most {cap}). Use a shorter or smaller "
        "video."
    ),
    "media.reencode_failed": "the video could not be re-encoded (it may be damaged). Use another file.",
    "media.no_decodable_frames": "the video has no frames that could be decoded. Use another file.",
    "media.no_link": "no link was given. Paste an https:// link.",
    "media.link_problem": "{problem}.",
    "media.clip_no_frames": "the clip has no frames to take a frame from",
    "media.clip_unreadable": "the clip could not be read to take a frame from it",
    "vault.not_playable": "The provider's output is not a playable video ({error}).",
    # keys and the spend guard (service.py, spend.py)
    "key.needed": "{provider} needs an API key. Enter your key in Settings, or choose the Simulator.",
    "spend.own_key_required": "This studio asks every visitor to use their own API key: enter yours in Settings.",
    "spend.model_not_allowed": (
        "{model} is not allowed with this studio's key. Allowed: {allowed}. Or use your own key in Settings."
    ),
    "spend.over_cap": (
        "This needs about {credits} credits but {which} has {left} left. It resets {when}. Choose a shorter clip, "
        "or use your own key in Settings."
    ),
    "spend.studio_cap": "this studio's daily credit cap",
    "spend.visitor_cap": "your daily credit cap",
    "spend.resets": "at 00:00 UTC (in {hours} h {minutes} min)",
    "spend.budget_both": "{studio} credits left today on this studio, {visitor} for you (server key; resets {when}).",
    "spend.budget_studio": "{studio} credits left today on this studio (server key; resets {when}).",
    "spend.budget_visitor": "{visitor} for you (server key; resets {when}).",
    # the provider's answers (client.py)
    "client.cannot_connect": "Could not connect to {provider}. No task was created; try again in a moment.",
    "client.may_exist": (
        "The request may have reached the provider, but {why}. The task may exist and be billed, so it was not sent "
        "again. Check your history (or the provider's dashboard) before trying again."
    ),
    "client.why_connection_after_send": "the connection failed after the request was sent ({error})",
    "client.why_server_error": "{provider} answered with error {status}",
    "client.why_unreadable": "the provider's answer could not be read",
    "client.kept_refusing": "{provider} kept refusing the request. No task was created.",
    "client.task_unknown": "The provider does not know task {task_id}.",
    "client.unreadable_status": "{provider} sent an unreadable task status.",
    "client.not_answering": (
        "{provider} is not answering properly ({problem}). Your task is kept; the studio will check it again."
    ),
    "client.problem_connection": "the connection failed ({error})",
    "client.problem_status": "it answered {status}",
    "client.timed_out": (
        "Task {task_id} is still running after {minutes:.0f} minutes. It may still finish; it stays in your history."
    ),
    "client.link_refused": "The output link was refused ({status}); it has probably expired.",
    "client.download_failed": "The output could not be downloaded (error {status}).",
    "client.download_interrupted": "The output download was interrupted ({error}).",
    "client.output_too_large": "The output is {size}; the studio keeps at most {cap}.",
    "client.output_over_limit": "The output is larger than {cap}; the download was stopped.",
    "client.key_refused": "{provider} refused the API key (401). Check the key in Settings.",
    "client.daily_cap": "{provider}: {text} No task was created; the cap resets within 24 hours.",
    "client.rate_limited": (
        "{provider} is rate limiting requests ({text}). No task was created; wait a moment and try again."
    ),
    "client.rejected": "{provider} rejected the request ({status}): {detail}",
    # failed tasks (tasks.py)
    "failure.moderated": (
        "Blocked by content moderation: {where} did not pass{detail}. Credits are charged for moderated tasks; "
        "change the input before trying again."
    ),
    "failure.where_text": "your prompt",
    "failure.where_image": "an input image",
    "failure.where_video": "the input video",
    "failure.where_output": "the generated video",
    "failure.where_input": "an input",
    "failure.said": " (provider said: {failure})",
    "failure.invalid_input": "An input could not be used{detail}. Check the image or video and try again.",
    "failure.transient": "The provider had a temporary problem{detail}. It is safe to try again.",
    "failure.unknown": "The task failed (code {code}){detail}.",
    "failure.no_code": "none given",
}

ZH: dict[str, str] = {
    # page
    "ui.tagline": "使用 Runway 的 API 生成视频。",
    "ui.sim_banner": (
        "**模拟器**：这里生成的是根据你的输入制作的模拟片段，不产生任何费用。"
        "要真正生成，请在设置中选择 openai-hk 或 Runway 并填写你的密钥。"
    ),
    "ui.storage_warning": (
        "**历史记录保存在此 Space 的临时磁盘上**，Space 重启后会丢失。管理员可以挂载持久存储（挂载到 /data）来保留它。"
    ),
    "ui.sign_in": "登录 Hugging Face 账号，即可在任何浏览器中保留你的历史记录。",
    "ui.settings": "设置",
    "ui.provider": "服务商",
    "ui.provider_simulator": "模拟器",
    "ui.api_key": "你的 API 密钥（可选）",
    "ui.api_key_help": "不会保存或显示：只用于你在此标签页中的请求。",
    "ui.tab_i2v": "图生视频",
    "ui.tab_v2v": "视频转视频",
    "ui.tab_cp": "角色表演",
    "ui.tab_history": "历史记录",
    # result panel
    "ui.result": "结果",
    "ui.download_mp4": "下载 MP4",
    "ui.to_first": "用尾帧作为首帧",
    "ui.to_v2v": "发送到视频转视频",
    "ui.to_character": "用作角色",
    "ui.copy_as_code": "复制为代码",
    "ui.copy_as_code_note": "实际发送的请求。密钥从 `$STUDIO_API_KEY` 读取；上传的文件已省略。",
    "ui.status_idle": "准备就绪。填好表单后点击“生成”。",
    # shared controls
    "ui.model": "模型",
    "ui.ratio": "画面比例",
    "ui.random_seed": "使用随机种子",
    "ui.seed": "随机种子",
    "ui.prompt": "提示词",
    "ui.generate": "生成",
    "ui.cancel": "取消",
    "ui.url_placeholder": "…或填写 https:// 链接",
    "ui.examples": "示例（点一下，再点“生成”）",
    "ui.public_figure_threshold": "公众人物识别阈值",
    "ui.threshold_auto": "自动",
    "ui.threshold_low": "低（更严格）",
    # image to video
    "ui.first_frame": "首帧",
    "ui.first_frame_link": "首帧链接",
    "ui.last_frame": "尾帧",
    "ui.last_frame_link": "尾帧链接",
    "ui.i2v_prompt_placeholder": "描述运动：“镜头缓缓推向灯塔，海浪翻涌”",
    "ui.duration_s": "时长（秒）",
    "ui.fit": "图片适配画面比例的方式",
    "ui.fit_crop": "裁切填满（居中）",
    "ui.fit_pad": "留边适配",
    "ui.fit_as_is": "保持原样",
    "ui.openai_hk_options": "openai-hk 选项",
    "ui.watermark": "水印",
    "ui.notify_hook": "通知回调（任务结束时调用的 https 地址）",
    "ui.what_will_be_sent": "将要发送的内容",
    "ui.first_frame_as_sent": "实际发送的首帧",
    # video to video
    "ui.input_video": "输入视频",
    "ui.input_video_link": "输入视频链接",
    "ui.reference_image": "参考图（风格）",
    "ui.reference_image_link": "参考图链接",
    "ui.v2v_prompt_placeholder": "要改变什么：“把它变成黄昏时分的水彩画”",
    # character performance
    "ui.character_as": "角色素材",
    "ui.character_image_choice": "图片",
    "ui.character_video_choice": "视频",
    "ui.character_image": "角色图片",
    "ui.character_video": "角色视频",
    "ui.character_link": "角色链接",
    "ui.character_hint": "角色应露出清晰可辨的脸，并始终保持在画面内。",
    "ui.reference_performance": "参考表演视频",
    "ui.reference_performance_link": "参考表演链接",
    "ui.body_control": "身体控制（跟随身体动作，而不只是面部）",
    "ui.expression_intensity": "表情强度",
    # history
    "ui.history_intro": "你的生成结果会显示在这里，最新的在前。",
    "ui.refresh": "刷新",
    "ui.your_generations": "你的生成结果",
    "ui.clip": "片段",
    "ui.reuse": "复用设置",
    "ui.delete": "删除",
    # names used inside messages
    "label.Model": "模型",
    "label.Frames": "帧",
    "label.Prompt": "提示词",
    "label.Ratio": "画面比例",
    "label.Duration": "时长",
    "label.Seed": "随机种子",
    "label.Watermark": "水印",
    "label.Notify hook": "通知回调",
    "label.Public figure threshold": "公众人物识别阈值",
    "label.Input video": "输入视频",
    "label.Reference image": "参考图",
    "label.Character": "角色",
    "label.Reference performance video": "参考表演视频",
    "label.Body control": "身体控制",
    "label.Expression intensity": "表情强度",
    "label.Fit the image to the ratio": "图片适配画面比例的方式",
    "label.First frame": "首帧",
    "label.Last frame": "尾帧",
    "label.Endpoint": "接口",
    "label.Request": "请求",
    "label.API key": "API 密钥",
    "label.Cost": "费用",
    "label.Video": "视频",
    "label.Output": "输出",
    "label.Image to Video": "图生视频",
    "label.Video to Video": "视频转视频",
    "label.Character Performance": "角色表演",
    "label.Simulator": "模拟器",
    "label.simulator": "模拟器",
    "label.server key": "服务器密钥",
    "label.your key": "你的密钥",
    "label.none": "无",
    # status panel
    "phase.preparing": "正在准备输入",
    "phase.submitting": "正在提交",
    "phase.queued": "排队中",
    "phase.throttled": "已限流：等待空闲名额",
    "phase.running": "生成中",
    "phase.downloading": "正在下载",
    "phase.succeeded": "已完成",
    "phase.failed": "失败",
    "phase.cancelled": "已取消",
    "phase.lost": "已丢失",
    "phase.interrupted": "已中断",
    "status.idle": "准备就绪。填好表单后点击“生成”。",
    "status.task": "任务",
    "status.elapsed": "{seconds:.1f} 秒",
    "status.seed_used": "随机种子：{seed}",
    "status.not_sent": "未发送",
    "status.fix_form": "请修改表单后重试（未产生任何费用）",
    # job messages
    "job.preparing": "正在检查表单并准备输入…",
    "job.sending": "正在发送请求…",
    "job.checking": "正在查询任务…",
    "job.broken": "跟踪此任务时出了问题。任务已保留在历史记录中，工作室会再次检查。",
    "job.created": "已创建，正在等待服务商开始处理。",
    "job.lost": "服务商已找不到此任务（模拟器重启后会忘记之前的任务）。",
    "job.not_shown_yet": "服务商暂时还查不到此任务。任务会保留在历史记录中，工作室会在后台继续检查。",
    "job.link_expired": "此视频的链接已过期或被服务商拒绝（{error}），工作室无法保存副本。请重新生成。",
    "job.keeps_checking": "{error} 任务会保留在历史记录中，工作室会在后台继续检查。",
    "job.queued": "排队中：服务商很快就会开始处理。",
    "job.throttled": "正在等待你账户的空闲名额（已限流），轮到时会自动开始。",
    "job.generating": "正在生成…",
    "job.cancelled": "已取消。",
    "job.no_output": "任务已成功，但服务商没有返回输出链接。",
    "job.keeping": "已完成，正在保存视频副本…",
    "job.retry_download": "{error} 工作室会在后台重试。",
    "job.ready": "你的视频已生成。",
    "job.cancel_failed": "已停止跟踪，但取消任务失败：{error}",
    "job.cancelled_remote": "已取消。任务已在服务商处停止。",
    "job.nothing_to_cancel": "没有可取消的内容：当前没有正在进行的生成。",
    "job.stopped_while_sending": "发送此请求时工作室停止了运行。任务可能已在服务商处创建并计费；重试前请先查看服务商的控制台。",
    # page text rendered on the server
    "page.key_in_use": "**使用中的密钥**：{source}",
    "page.key_none": "**使用中的密钥**：无。{provider} 需要密钥：请在上方填写你的密钥。",
    "page.no_clip": "还没有片段：请先生成一个。",
    "page.cost_per_second": "费用：每秒输出 {credits} 积分（${usd:.2f}）。",
    "page.cost": "费用：{estimate}。",
    "page.cost_free": "费用：{estimate}（在模拟器上免费）。",
    "page.estimate": "约 {credits} 积分（${usd:.2f}），时长 {seconds:g} 秒",
    "page.last_frame_ok": "可选：片段会以这张图结束。",
    "page.no_last_frame": "⚠ {model} 不支持尾帧。",
    "page.no_last_frame_choose": "⚠ {model} 不支持尾帧。如需使用，请选择 {models}。",
    "page.this_model": "此模型",
    "page.unavailable": "⚠ {provider} 不提供{tab}。请在设置中选择 {providers}。",
    "page.preview": "{width}×{height}，适配方式：{fit}。",
    "fit.crop": "裁切",
    "fit.pad": "留边",
    "fit.as-is": "保持原样",
    "page.video_length": "此视频长 {seconds:.1f} 秒。",
    "page.first_seconds_used": "只使用前 {seconds:g} 秒。",
    "page.allowed_length": "允许 {low:g}–{high:g} 秒",
    "page.reference_follows": "输出时长跟随参考视频（{allowed}）。",
    "page.reference_length": "参考视频时长：{seconds:.1f} 秒（{allowed}）。",
    "page.reference_length_bad": "⚠ 参考视频时长：{seconds:.1f} 秒（{allowed}）。",
    "page.warning": "⚠ {text}",
    "page.seed_empty": "随机种子为空。请输入整数，或勾选“使用随机种子”。",
    # history
    "history.status.submitting": "正在提交",
    "history.status.queued": "排队中",
    "history.status.throttled": "已限流",
    "history.status.running": "生成中",
    "history.status.downloading": "正在下载",
    "history.status.succeeded": "已完成",
    "history.status.failed": "失败",
    "history.status.cancelled": "已取消",
    "history.status.lost": "已丢失",
    "history.count": "共 {count} 个生成结果",
    "history.count_running": "共 {count} 个生成结果，{running} 个进行中",
    "history.empty": "还没有内容：你的生成结果会显示在这里（最新的在前），直到你删除为止。",
    "history.credits": "{credits:g} 积分",
    "history.credits_estimate": "约 {credits} 积分（估算）",
    "history.headline": "**{tab}** · `{model}` · {provider} · {status}",
    "history.prompt": "**提示词**：{prompt}",
    "history.facts": "**时长**：{seconds:g} 秒 · **费用**：{cost} · **随机种子**：{seed} · **创建于**：{made}",
    "history.task": "**任务**：`{task}` · 密钥：{key_source}",
    "history.not_created": "未创建",
    "history.why_failed": "**失败原因**：{reason}",
    "history.lineage": "**来源**：{steps} → 当前",
    "history.step": "{tab}（{model}）",
    "history.choose_first": "请先选择一个你的生成结果。",
    "history.no_clip": "这个生成结果没有可用的片段。",
    # checks of a request
    "req.unknown_endpoint": "未知接口 {endpoint!r}。",
    "req.not_object": "请求体必须是 JSON 对象。",
    "req.required": "{field}为必填项。",
    "req.not_a_field": "{name} 不是此请求的字段。",
    "req.whole_number": "{field}必须是整数（收到的是 {value!r}）。",
    "req.true_or_false": "{field}必须是 true 或 false（收到的是 {value!r}）。",
    "req.not_allowed": "{field}：不允许 {value!r}。请从 {expected} 中选择。",
    "req.shape": "{field}：{detail}。",
    "req.provider_lacks_tab": "{provider} 不提供{tab}，那里没有可用的模型。",
    "req.model_unavailable": "{provider} 的{tab}不提供模型 {model}。可选模型：{choices}。",
    "req.seed_range": "随机种子 {seed} 超出范围。请使用 {low} 到 {high} 之间的整数。",
    "req.ratio_required": "{model} 必须指定画面比例。请从 {choices} 中选择。",
    "req.ratio_unavailable": "{model} 不支持画面比例 {ratio}。请从 {choices} 中选择。",
    "req.no_moderation": "{model} 不接受内容审核设置。",
    "req.prompt_required": "{model} 必须填写提示词。请描述你想要的运动。",
    "req.prompt_spaces_required": "提示词只有空格。请填写提示词。",
    "req.prompt_spaces": "提示词只有空格。请填写提示词，或留空。",
    "req.prompt_control": "提示词包含 {count} 个控制字符（例如 U+{code:04X}）。请删除它们。",
    "req.prompt_too_long": "提示词长 {length} 个字符（表情符号算 2 个），最多允许 {cap} 个。请删减 {over} 个。",
    "req.field_problem": "{field}：{problem}。",
    "req.duration_unavailable": "{provider} 上的 {model} 不支持 {duration} 秒时长。可选时长：{choices} 秒。",
    "req.first_frame_required": "首帧为必填项。请上传图片或填写 https 链接。",
    "req.frame_once": "每个帧位置只能提供一次。",
    "req.no_last_frame_anywhere": "{provider} 上没有支持尾帧的模型。",
    "req.last_frame_only": "只有 {models} 支持尾帧。",
    "req.openai_hk_only": "{field}仅在 openai-hk 上可用，{provider} 不支持。",
    "req.too_many_references": "{model} 最多接受 {most} 张参考图，当前提供了 {given} 张。",
    "req.character_type": "角色必须是以下之一：{choices}。",
    "req.reference_video": "参考表演必须是视频。",
    "req.intensity_range": "表情强度 {value} 超出范围。请选择 {low} 到 {high}。",
    "form.required": "{field}为必填项。请上传文件或填写 https 链接。",
    "form.trimmed": "{field}：{total:.1f} 秒中只使用前 {keep:g} 秒。",
    "form.reencoded": "{field}：已重新编码为 H.264，以符合上传限制。",
    # links and data URIs
    "uri.too_long": "链接长 {length} 个字符，最多允许 {most} 个",
    "uri.spaces": "链接包含空格或控制字符",
    "uri.https_only": "只允许 https:// 链接（此链接使用的是 {scheme}:）",
    "uri.https_only_no_scheme": "只允许 https:// 链接（此链接没有协议）",
    "uri.no_host": "链接没有主机名",
    "uri.credentials": "不允许包含用户名或密码的链接",
    "uri.ip_address": "链接必须使用域名，而不是 IP 地址（{host}）",
    "uri.not_public": "{host} 不是公共域名",
    "uri.data_shape": "data URI 的格式应为 data:{kind}/…;base64,…",
    "uri.data_wrong_kind_image": "此处需要图片，但提供的是 {mime} 类型的 data URI",
    "uri.data_wrong_kind_video": "此处需要视频，但提供的是 {mime} 类型的 data URI",
    "uri.data_too_large_image": "编码后的图片为 {size}，最多只能发送 {cap}",
    "uri.data_too_large_video": "编码后的视频为 {size}，最多只能发送 {cap}",
    "uri.data_base64": "data URI 不是有效的 base64",
    "unit.bytes": "{count} 字节",
    # images and videos
    "media.detail": "{field}：{detail}",
    "media.unreadable_file": "无法读取文件（{reason}）",
    "media.use_image": "请使用 {formats} 图片。",
    "media.empty_image": "文件为空（0 字节）。{advice}",
    "media.format_refused": "不接受 {kind} 图片。{advice}",
    "media.format_refused_unknown": "不接受这种图片。{advice}",
    "media.not_an_image": "文件不是可读取的图片。{advice}",
    "media.image_unreadable": "无法读取图片。{advice}",
    "media.image_too_large_size": (
        "图片为 {width}x{height} 像素，太大，无法处理。请使用不超过 {megapixels} 百万像素、边长不超过 {side} px 的图片。"
    ),
    "media.image_too_large": "图片太大，无法处理。请使用不超过 {megapixels} 百万像素、边长不超过 {side} px 的图片。",
    "media.no_pixels": "图片没有像素。{advice}",
    "media.as_is_aspect": (
        "图片为 {width}x{height}（宽高比 {aspect:.2f}）；选择“保持原样”时，宽高比（宽 / 高）必须在 {low:g} 到 {high:g} "
        "之间。请改用裁切或留边。"
    ),
    "media.image_too_large_decoded": "图片太大，无法处理。请使用更小的图片。",
    "media.image_damaged": "图片已损坏或不完整（上传是否中断了？），无法读取。请重新导出。",
    "media.no_writable_format": "工作室无法写出任何可接受的格式（{formats}）。",
    "media.image_cannot_fit": "图片无法压缩到 {cap}（编码后图片的上限）以内：即使缩小并压缩后仍有 {smallest}。请使用更简单的图片。",
    "media.empty_video": "文件为空（0 字节）。请使用 MP4、MOV 或 WebM 视频。",
    "media.still_image": "这是一张静态图片，不是视频。请使用 MP4、MOV 或 WebM 视频。",
    "form.fit_choices": "{field}只能是 crop、pad 或 as-is（收到的是 {value}）。",
    "media.not_a_video": "文件不是可读取的视频。请使用 MP4、MOV 或 WebM 视频。",
    "media.sound_only": "文件只有声音，没有画面。请使用视频文件（MP4、MOV 或 WebM）。",
    "media.no_frames": "视频没有帧（时长为 0 秒）。请使用至少有一帧的视频。",
    "media.video_damaged": "视频已损坏，无法解码。请换一个文件。",
    "media.no_length": "视频没有时长（0 秒）。请使用至少有一帧的视频。",
    "media.length_between": "在 {low:g} 到 {high:g} 秒之间",
    "media.length_at_least": "至少 {low:g} 秒",
    "media.length_at_most": "最多 {high:g} 秒",
    "media.bad_length": "视频长 {seconds} 秒，时长必须{allowed}。",
    "media.video_too_large": "即使重新编码，视频仍太大，无法发送（{smallest}，上限 {cap}）。请使用更短或更小的视频。",
    "media.reencode_failed": "视频无法重新编码（可能已损坏）。请换一个文件。",
    "media.no_decodable_frames": "视频中没有可解码的帧。请换一个文件。",
    "media.no_link": "没有提供链接。请粘贴 https:// 链接。",
    "media.link_problem": "{problem}。",
    "media.clip_no_frames": "该片段没有可提取的帧",
    "media.clip_unreadable": "无法读取该片段以提取帧",
    "vault.not_playable": "服务商的输出不是可播放的视频（{error}）。",
    # keys and the spend guard
    "key.needed": "{provider} 需要 API 密钥。请在设置中填写你的密钥，或选择模拟器。",
    "spend.own_key_required": "本工作室要求每位访客使用自己的 API 密钥：请在设置中填写你的密钥。",
    "spend.model_not_allowed": "{model} 不能使用本工作室的密钥。允许的模型：{allowed}。你也可以在设置中使用自己的密钥。",
    "spend.over_cap": (
        "这次大约需要 {credits} 积分，但{which}只剩 {left}。额度将{when}重置。请选择更短的片段，或在设置中使用你自己的密钥。"
    ),
    "spend.studio_cap": "本工作室的每日积分上限",
    "spend.visitor_cap": "你的每日积分上限",
    "spend.resets": "于 UTC 00:00（{hours} 小时 {minutes} 分钟后）",
    "spend.budget_both": "本工作室今天还剩 {studio} 积分，你还剩 {visitor} 积分（服务器密钥；{when}重置）。",
    "spend.budget_studio": "本工作室今天还剩 {studio} 积分（服务器密钥；{when}重置）。",
    "spend.budget_visitor": "你今天还剩 {visitor} 积分（服务器密钥；{when}重置）。",
    # the provider's answers
    "client.cannot_connect": "无法连接到 {provider}。没有创建任务，请稍后重试。",
    "client.may_exist": "请求可能已到达服务商，但{why}。任务可能已创建并计费，因此没有重新发送。重试前请先查看历史记录（或服务商的控制台）。",
    "client.why_connection_after_send": "请求发出后连接中断（{error}）",
    "client.why_server_error": "{provider} 返回了错误 {status}",
    "client.why_unreadable": "无法读取服务商的响应",
    "client.kept_refusing": "{provider} 一直拒绝该请求。没有创建任务。",
    "client.task_unknown": "服务商找不到任务 {task_id}。",
    "client.unreadable_status": "{provider} 返回的任务状态无法读取。",
    "client.not_answering": "{provider} 没有正常响应（{problem}）。你的任务已保留，工作室会再次检查。",
    "client.problem_connection": "连接失败：{error}",
    "client.problem_status": "返回了 {status}",
    "client.timed_out": "任务 {task_id} 运行 {minutes:.0f} 分钟后仍未完成。它仍可能完成，并会保留在你的历史记录中。",
    "client.link_refused": "输出链接被拒绝（{status}），可能已过期。",
    "client.download_failed": "无法下载输出（错误 {status}）。",
    "client.download_interrupted": "输出下载中断（{error}）。",
    "client.output_too_large": "输出大小为 {size}，工作室最多保存 {cap}。",
    "client.output_over_limit": "输出超过 {cap}，已停止下载。",
    "client.key_refused": "{provider} 拒绝了该 API 密钥（401）。请在设置中检查密钥。",
    "client.daily_cap": "{provider}：{text} 没有创建任务；上限会在 24 小时内重置。",
    "client.rate_limited": "{provider} 正在限制请求频率（{text}）。没有创建任务，请稍等片刻再试。",
    "client.rejected": "{provider} 拒绝了请求（{status}）：{detail}",
    # failed tasks
    "failure.moderated": "被内容审核拦截：{where}未通过{detail}。被审核拦截的任务同样会扣除积分；请修改输入后再试。",
    "failure.where_text": "你的提示词",
    "failure.where_image": "一张输入图片",
    "failure.where_video": "输入视频",
    "failure.where_output": "生成的视频",
    "failure.where_input": "某个输入",
    "failure.said": "（服务商反馈：{failure}）",
    "failure.invalid_input": "有输入无法使用{detail}。请检查图片或视频后再试。",
    "failure.transient": "服务商出现临时问题{detail}。可以放心重试。",
    "failure.unknown": "任务失败（代码 {code}）{detail}。",
    "failure.no_code": "未提供",
}

CATALOG: dict[str, dict[str, str]] = {"en": EN, "zh-CN": ZH}

# How each language joins a list: "comma" (a, b), "or" (a or b or c), "and", "list_or" (a, b or c), "sentences".
_JOINS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "comma": (", ", ", "),
        "or": (" or ", " or "),
        "and": (" and ", " and "),
        "list_or": (", ", " or "),
        "sentences": (" ", " "),
    },
    "zh-CN": {
        "comma": ("、", "、"),
        "or": (" 或 ", " 或 "),
        "and": (" 和 ", " 和 "),
        "list_or": ("、", " 或 "),
        "sentences": (" ", " "),
    },
}
JoinHow = Literal["comma", "or", "and", "list_or", "sentences"]


# --- choosing the language ------------------------------------------------------------------------------------


def language_of(accept_language: str | None) -> str:
    """The studio's language for an ``Accept-Language`` header: "zh-CN" when the visitor prefers Simplified
    Chinese (zh, zh-CN, zh-SG, zh-Hans...) over English, else "en". Preferences are taken in q-value order;
    Traditional Chinese (zh-TW, zh-HK, zh-Hant...) is not Simplified, so it is skipped like any other language."""
    if not accept_language:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, *attrs = [piece.strip() for piece in part.split(";")]
        weight = 1.0
        for attr in attrs:
            name, _, value = attr.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if tag and weight > 0:
            ranked.append((-weight, index, tag.lower()))
    for _, _, tag in sorted(ranked):
        chosen = _supported(tag)
        if chosen:
            return chosen
    return DEFAULT


def _supported(tag: str) -> str | None:
    primary, *rest = tag.replace("_", "-").split("-")
    if primary == "zh":
        if "hant" in rest:
            return None
        if not rest or "hans" in rest or rest[0] in ("cn", "sg"):
            return "zh-CN"
        return None
    if primary in ("en", "*"):
        return "en"
    return None


def request_language(request: Any) -> str:
    """The language of a Gradio request (or any object with ``headers``); English without one."""
    headers = getattr(request, "headers", None)
    if headers is None:
        return DEFAULT
    try:
        value = headers.get("accept-language")
    except AttributeError:
        value = None
    return language_of(value)


# --- rendering --------------------------------------------------------------------------------------------------


def t(lang: str, key: str, /, **params: Any) -> str:
    """The message ``key`` in ``lang`` (English where ``lang`` has no text for it), formatted with ``params``.

    An unknown key raises KeyError (tests scan the code for every key used). A parameter that is a ``Text``
    (``Msg``, ``Label``, ``Join``) is rendered in ``lang`` too; others are formatted as they are, so templates can
    use format specs ({seconds:.1f}, {value!r}).
    """
    if lang not in CATALOG:
        lang = DEFAULT
    template = CATALOG[lang].get(key)
    if template is None:
        template = EN[key]
    return template.format(**{name: _rendered(value, lang) for name, value in params.items()})


def _rendered(value: Any, lang: str) -> Any:
    return value.render(lang) if isinstance(value, Text) else value


class Text(str):
    """A ``str`` holding the English text, that can render itself in another language."""

    def render(self, lang: str) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


class Msg(Text):
    """A catalog message with its parameters; as a ``str`` it is the English text.

    >>> Msg("req.required", field=Label("First frame"))
    'First frame is required.'
    """

    key: str
    params: dict[str, Any]

    def __new__(cls, key: str, /, **params: Any) -> Msg:
        self = super().__new__(cls, t(DEFAULT, key, **params))
        self.key = key
        self.params = params
        return self

    def render(self, lang: str) -> str:
        return t(lang, self.key, **self.params)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_msg, (self.key, self.params))


def _msg(key: str, params: Mapping[str, Any]) -> Msg:
    return Msg(key, **params)


class Label(Text):
    """The name of a field, tab, provider or key source, e.g. ``Label("First frame")`` (首帧 in Chinese)."""

    def render(self, lang: str) -> str:
        return CATALOG.get(lang, EN).get(f"label.{self}", str(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Label, (str(self),))


class Join(Text):
    """Items joined as each language joins a list (", " and "or" in English, "、" and "或" in Chinese)."""

    items: tuple[Any, ...]
    how: JoinHow

    def __new__(cls, items: Iterable[Any], how: JoinHow = "comma") -> Join:
        listed = tuple(items)
        self = super().__new__(cls, _join(listed, how, DEFAULT))
        self.items, self.how = listed, how
        return self

    def render(self, lang: str) -> str:
        return _join(self.items, self.how, lang)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Join, (self.items, self.how))


def _join(items: tuple[Any, ...], how: JoinHow, lang: str) -> str:
    between, last = _JOINS.get(lang, _JOINS[DEFAULT])[how]
    shown = [str(_rendered(item, lang)) for item in items]
    if len(shown) < 2:
        return "".join(shown)
    return between.join(shown[:-1]) + last + shown[-1]


def localize(thing: Any, lang: str) -> str:
    """``thing`` as the visitor should read it in ``lang``: a ``Text``, a ``FieldIssue`` or a ``StudioError``
    (anything with a ``localized(lang)`` method), or any other value as its plain ``str``."""
    if thing is None:
        return ""
    if isinstance(thing, Text):
        return thing.render(lang)
    localized = getattr(thing, "localized", None)
    if callable(localized):
        return str(localized(lang))
    return str(thing)


# --- keeping a message (History stores why a generation failed) -------------------------------------------------


def dumps(text: Any) -> str | None:
    """A ``Text`` as JSON, to keep with the English text; None for a plain string (nothing to translate)."""
    return json.dumps(_to_data(text), ensure_ascii=False) if isinstance(text, Text) else None


def loads(data: str | None, english: str | None = None) -> str | None:
    """The ``Text`` kept by ``dumps`` (or ``english`` as it is, when nothing was kept or it no longer renders)."""
    if not data:
        return english
    try:
        return _from_data(json.loads(data))
    except (ValueError, KeyError, TypeError, IndexError):
        return english


def _to_data(value: Any) -> Any:
    if isinstance(value, Msg):
        return {"msg": value.key, "params": {k: _to_data(v) for k, v in value.params.items()}}
    if isinstance(value, Label):
        return {"label": str(value)}
    if isinstance(value, Join):
        return {"join": [_to_data(item) for item in value.items], "how": value.how}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _from_data(data: Any) -> Any:
    if isinstance(data, dict):
        if "msg" in data:
            return Msg(data["msg"], **{k: _from_data(v) for k, v in data["params"].items()})
        if "label" in data:
            return Label(data["label"])
        if "join" in data:
            return Join([_from_data(item) for item in data["join"]], data["how"])
    return data


# --- static page text (Gradio's I18n) -----------------------------------------------------------------------------

_MARKER = re.compile(r'__i18n__(\{"__type__": "translation_metadata", "key": "(?P<key>[^"]+)"\})')


def _build_ui() -> Any:
    import gradio as gr  # only the page needs Gradio; the simulator and checks do not

    return gr.I18n(**{lang: {k: v for k, v in table.items() if k.startswith("ui.")} for lang, table in CATALOG.items()})


def __getattr__(name: str) -> Any:
    """``UI``: the ``gr.I18n`` of the static page text, made on first use (Gradio is imported then)."""
    if name == "UI":
        ui = _build_ui()
        globals()["UI"] = ui
        return ui
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def page_text(render: Callable[[str], str]) -> Any:
    """Text fixed when the page is built but made of parameters (a cost line, a note): rendered now in every
    language and registered with ``UI`` under a key made from its content. Returns what to give a component."""
    texts = {lang: render(lang) for lang in LANGUAGES}
    if not texts[DEFAULT]:
        return ""
    key = "ui.built." + hashlib.sha1("\x00".join(texts[lang] for lang in LANGUAGES).encode()).hexdigest()[:16]
    ui = __getattr__("UI") if "UI" not in globals() else globals()["UI"]
    for lang, text in texts.items():
        ui.translations.setdefault(lang, {})[key] = text
    return ui(key)


def english(value: Any) -> Any:
    """``value`` with Gradio translation keys (an I18nData, or a string holding its marker) replaced by English:
    what an API client reads as a component's label."""
    key = getattr(value, "key", None)
    if key is not None and type(value).__name__ == "I18nData":
        return _english_of(key)
    if isinstance(value, str) and "__i18n__" in value:
        return _MARKER.sub(lambda m: _english_of(m.group("key")), value)
    if isinstance(value, dict):
        if value.get("_type") == "translation_metadata" or value.get("__type__") == "translation_metadata":
            return _english_of(str(value.get("key", "")))
        return {k: english(v) for k, v in value.items()}
    if isinstance(value, list):
        return [english(v) for v in value]
    return value


def _english_of(key: str) -> str:
    if key in EN:
        return EN[key]
    ui = globals().get("UI")
    return str(ui.translations.get(DEFAULT, {}).get(key, key)) if ui is not None else key


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses (for the catalog's tests)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}
