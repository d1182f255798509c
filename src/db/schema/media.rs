//! Campaign images, the images of updates, and the object keys awaiting collection.

diesel::table! {
    campaign_images (id) {
        id -> BigInt,
        campaign_id -> BigInt,
        alt -> Text,
        width -> Integer,
        height -> Integer,
        content_type -> Text,
        small_key -> Text,
        medium_key -> Text,
        large_key -> Text,
        gallery_position -> Nullable<Integer>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    update_images (update_id, position) {
        update_id -> BigInt,
        image_id -> BigInt,
        position -> Integer,
    }
}

diesel::table! {
    media_pending (object_key) {
        object_key -> Text,
        since -> Timestamp,
    }
}
