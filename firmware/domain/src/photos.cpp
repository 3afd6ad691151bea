// Evidence photos: copied into the blob store, fsynced and hashed before their record commits.
#include <filesystem>

#include "fieldlog/camera/photo_metadata.hpp"
#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"
#include "operations.hpp"
#include "placement.hpp"

namespace fieldlog::domain::ops {

namespace {

// A camera's file name kept as a label: anything outside the identifier alphabet becomes '_'.
std::string label_from_file_name(const std::filesystem::path& path) {
    std::string name = path.filename().string();
    for (char& ch : name) {
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok) ch = '_';
    }
    while (name.find("..") != std::string::npos) name.replace(name.find(".."), 2, "_");
    if (name.size() > 64) name.resize(64);
    return name.empty() ? "photo.jpg" : name;
}

}  // namespace

Result<Job> photo_add(const Context& c, const json::object& args) {
    auto a = Args::check("photo.add", args, {"path", "name", "inspection_id", "tags", "caption"});
    if (!a) return a.error();
    auto path_text = a->text("path", 4096);
    if (!path_text) return path_text.error();
    std::filesystem::path path(*path_text);
    if (!path.is_absolute()) {
        return a->error("path", "must be absolute (the daemon does not share your directory)");
    }
    auto name = a->opt_text("name", 64);
    if (!name) return name.error();
    if (*name) {
        if (auto ok = check_identifier("photo.add: name", **name); !ok) return ok.error();
    }
    auto inspection_id = a->opt_text("inspection_id", 64);
    if (!inspection_id) return inspection_id.error();
    auto tags = a->text_list("tags", 32, 64);
    if (!tags) return tags.error();
    auto caption = a->opt_text("caption", 2000);
    if (!caption) return caption.error();

    return Job{
        [path, name = name->value_or(label_from_file_name(path)), inspection_id = *inspection_id,
         tags = json_text(to_array(*tags)), caption = caption->value_or(""),
         max_bytes = c.options.max_photo_bytes, offset = c.options.default_utc_offset_minutes,
         at = placement_of(c.fix)](store::WriteContext& ctx) -> Result<json::value> {
            auto inspection = inspection_for_record(ctx.db(), "photo.add", inspection_id);
            if (!inspection) return inspection.error();
            std::string insp_id(inspection->at("id").as_string());
            auto content = read_file(path, max_bytes);
            if (!content) return Error(content.error()).context("photo.add");
            std::span<const std::uint8_t> bytes(
                reinterpret_cast<const std::uint8_t*>(content->data()), content->size());
            auto meta = camera::read_jpeg_metadata(bytes, offset);
            if (!meta) return Error(meta.error()).context("photo.add: " + path.string());

            std::string sha = to_hex(sha256(bytes));
            auto existing = query_records(
                ctx.db(), photo_kind(), "WHERE inspection_id = ?1 AND sha256 = ?2 LIMIT 1",
                [&](store::Statement& s) { s.bind(1, insp_id).bind(2, sha); });
            if (!existing) return existing.error();
            if (!existing->empty()) {
                return json::object{{"photo", std::move(existing->front())}, {"duplicate", true}};
            }
            // The blob is durable before the record that names it can commit.
            auto blob = ctx.blobs().put(bytes, "jpg");
            if (!blob) return blob.error();
            auto insert_blob = ctx.db().prepare(
                "INSERT INTO blobs (sha256, size, media_type, stored_ms) VALUES (?1, ?2, "
                "'image/jpeg', ?3) ON CONFLICT (sha256) DO NOTHING");
            if (!insert_blob) return insert_blob.error();
            (*insert_blob)
                ->bind(1, blob->sha256_hex)
                .bind(2, static_cast<std::int64_t>(blob->size))
                .bind(3, ctx.now_ms());
            if (auto done = (*insert_blob)->run(); !done) return done.error();

            json::array warnings;
            for (const auto& w : meta->warnings) warnings.emplace_back(w);
            std::string id = random_uuid();
            auto insert = ctx.db().prepare(
                "INSERT INTO photos (id, inspection_id, sha256, size, original_name, caption, "
                "tags, capture_time_ms, capture_time_text, exif_lat, exif_lon, exif_altitude_m, "
                "width, height, warnings, device_time_ms, gnss_time_ms, lat, lon, last_seq) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18, ?19, ?20)");
            if (!insert) return insert.error();
            auto as_int64 = [](std::optional<int> v) {
                return v ? std::optional<std::int64_t>(*v) : std::nullopt;
            };
            (*insert)
                ->bind(1, id)
                .bind(2, insp_id)
                .bind(3, sha)
                .bind(4, static_cast<std::int64_t>(bytes.size()))
                .bind(5, name)
                .bind(6, caption)
                .bind(7, tags)
                .bind(8, meta->capture_time_ms)
                .bind(9, meta->capture_time_text)
                .bind(10, meta->lat)
                .bind(11, meta->lon)
                .bind(12, meta->altitude_m)
                .bind(13, as_int64(meta->width))
                .bind(14, as_int64(meta->height))
                .bind(15, json_text(warnings))
                .bind(16, ctx.now_ms())
                .bind(17, at.gnss_time_ms)
                .bind(18, at.lat)
                .bind(19, at.lon)
                .bind(20, ctx.next_seq());
            if (auto done = (*insert)->run(); !done) return done.error();
            if (auto seq = ctx.append(photo_kind(), id, at.gnss_time_ms); !seq) return seq.error();
            auto record = require_record(ctx.db(), photo_kind(), id, "photo");
            if (!record) return record.error();
            return json::object{{"photo", std::move(*record)}, {"duplicate", false}};
        },
        nullptr};
}

Result<Job> photo_list(const Context&, const json::object& args) {
    return list_in_inspection("photo.list", args, photo_kind(), "photos");
}

}  // namespace fieldlog::domain::ops
