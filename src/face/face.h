/*
 * face.h: the face engine, the whole public interface of src/face/.
 *
 * Plain-C inference of the networks of @vladmandic/face-api 1.7.15: the tiny
 * face detector (416 input), the tiny 68-point landmark net, dlib-style
 * alignment and the 128-d recognition net, computed as face-api computes
 * them (docs/face.md). On top of them: verification of two photos and a
 * head-turn liveness check.
 *
 * Threads: a face_engine is read-only once face_engine_load() returns; any
 * number of threads may use one engine at the same time. Every call
 * allocates its own scratch memory. face_engine_load() sets OpenBLAS to one
 * thread: the service parallelises across requests, not inside one.
 *
 * Errors: every function returns FACE_OK (0) or a negative face_status, and
 * writes a one-line message into (err, err_len) when err is not NULL.
 * face_status_code() names each status for JSON error replies.
 */
#ifndef CYBERID_FACE_H
#define CYBERID_FACE_H

#include <stddef.h>
#include <stdint.h>

#define FACE_DESCRIPTOR_DIMS 128
#define FACE_LANDMARK_POINTS 68
/* Largest encoded image accepted (bytes) and largest decoded size (pixels,
 * and per side). A 16 MiB JPEG or a 40-megapixel photo is far beyond what a
 * selfie or ID photo needs; the pixel cap bounds decode memory at 120 MB. */
#define FACE_IMAGE_MAX_BYTES (16u * 1024u * 1024u)
#define FACE_IMAGE_MAX_PIXELS (40u * 1000u * 1000u)
#define FACE_IMAGE_MAX_SIDE 16384u
/* Detection: face-api's TinyFaceDetectorOptions defaults. */
#define FACE_DETECT_INPUT_SIZE 416
#define FACE_DETECT_SCORE_THRESHOLD 0.5f
/* Verification threshold on the Euclidean descriptor distance: same person
 * when distance < FACE_SAME_PERSON_THRESHOLD. Chosen for FAR <= 0.1% on the
 * deepface test pairs; the measured FAR/FRR are in docs/face.md and are
 * asserted by tests/face/test_face_accuracy.c. */
#define FACE_SAME_PERSON_THRESHOLD 0.55f
/* Liveness: the head must turn by at least this normalised yaw (see
 * face_yaw()) away from the frontal frame, in the requested direction. */
#define FACE_LIVENESS_MIN_YAW_CHANGE 0.10f
/* ... and the frontal frame must be within this yaw of straight ahead. */
#define FACE_LIVENESS_MAX_FRONTAL_YAW 0.10f
/* Room for an error message; longer messages are truncated. */
#define FACE_ERROR_LEN 256

typedef enum face_status {
    FACE_OK = 0,
    FACE_ERR_ARGUMENT = -1,         /* caller passed NULL or a bad value */
    FACE_ERR_NOMEM = -2,            /* allocation failed */
    FACE_ERR_MODEL = -3,            /* model file missing, corrupt or wrong */
    FACE_ERR_IMAGE_FORMAT = -4,     /* not JPEG, PNG or WebP */
    FACE_ERR_IMAGE_CORRUPT = -5,    /* truncated or corrupt image */
    FACE_ERR_IMAGE_TOO_BIG = -6,    /* over FACE_IMAGE_MAX_BYTES */
    FACE_ERR_IMAGE_TOO_MANY_PIXELS = -7, /* over the pixel or side limit */
    FACE_ERR_NO_FACE = -8,          /* no face found */
    FACE_ERR_MANY_FACES = -9,       /* more than one face found */
    FACE_ERR_LIVENESS_CHALLENGE = -10 /* unknown head-turn challenge */
} face_status;

/* An 8-bit RGB image, rows top to bottom, 3 bytes per pixel, no padding. */
typedef struct face_image {
    int width;
    int height;
    uint8_t *rgb; /* width * height * 3 bytes, owned: face_image_free() */
} face_image;

typedef struct face_point {
    float x;
    float y;
} face_point;

/* A box in image pixels; it may extend past the image edges (face-api does
 * not clip detections). */
typedef struct face_box {
    float x;
    float y;
    float width;
    float height;
} face_box;

/* One detected face: the detector's box and score, and the 68 iBUG points
 * (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67) in image
 * pixels. */
typedef struct face_detection {
    face_box box;
    float score;
    face_point landmarks[FACE_LANDMARK_POINTS];
} face_detection;

typedef struct face_engine face_engine;

/* Returns a stable snake_case name for a status ("no_face", ...), never
 * NULL; "unknown_error" for values outside the enum. */
const char *face_status_code(int status);

/* Loads the three networks from model_dir (the files listed in
 * models.sha256; each file is checked against its SHA-256 there before it
 * is parsed). On success *engine_out owns the weights: release it with
 * face_engine_free(). Returns FACE_OK, FACE_ERR_MODEL (a file missing,
 * unreadable, not listed, with another SHA-256, or inconsistent: the message
 * names it), FACE_ERR_NOMEM or FACE_ERR_ARGUMENT; on failure *engine_out is
 * NULL. */
int face_engine_load(face_engine **engine_out, const char *model_dir,
                     char *err, size_t err_len);

/* Frees an engine and its weights; NULL is allowed. No call may be using it. */
void face_engine_free(face_engine *engine);

/* Decodes a JPEG (EXIF orientation applied), PNG or WebP image from bytes,
 * recognising the format from the bytes alone. On success image_out owns a
 * new pixel buffer (face_image_free()). Returns FACE_OK,
 * FACE_ERR_IMAGE_TOO_BIG, FACE_ERR_IMAGE_FORMAT, FACE_ERR_IMAGE_CORRUPT,
 * FACE_ERR_IMAGE_TOO_MANY_PIXELS, FACE_ERR_NOMEM or FACE_ERR_ARGUMENT; on
 * failure image_out is zeroed. */
int face_image_decode(face_image *image_out, const uint8_t *bytes, size_t len,
                      char *err, size_t err_len);

/* Copies width*height*3 RGB bytes into a new image (same limits as decode). */
int face_image_from_rgb(face_image *image_out, const uint8_t *rgb, int width,
                        int height, char *err, size_t err_len);

/* Releases the pixels and zeroes the struct; NULL or zeroed is allowed. */
void face_image_free(face_image *image);

/* Finds all faces (score > FACE_DETECT_SCORE_THRESHOLD after non-maximum
 * suppression), best first, with their landmarks. Writes up to capacity
 * detections into faces (which may be NULL when capacity is 0) and the
 * number found (possibly more than capacity) into *count. Returns FACE_OK
 * (also when no face is found), FACE_ERR_NOMEM or FACE_ERR_ARGUMENT. */
int face_detect(const face_engine *engine, const face_image *image,
                face_detection *faces, size_t capacity, size_t *count,
                char *err, size_t err_len);

/* Computes the descriptor of the one face in the image, and its detection
 * when face_out is not NULL. Returns FACE_OK, FACE_ERR_NO_FACE,
 * FACE_ERR_MANY_FACES, FACE_ERR_NOMEM or FACE_ERR_ARGUMENT; on failure the
 * descriptor is zeroed. */
int face_descriptor(const face_engine *engine, const face_image *image,
                    float descriptor[FACE_DESCRIPTOR_DIMS],
                    face_detection *face_out, char *err, size_t err_len);

/* Computes the descriptor of an image that is already a face crop (no
 * detection, no alignment: face-api's computeFaceDescriptor on the image). */
int face_descriptor_of_crop(const face_engine *engine, const face_image *crop,
                            float descriptor[FACE_DESCRIPTOR_DIMS],
                            char *err, size_t err_len);

/* Euclidean distance between two descriptors. */
float face_distance(const float a[FACE_DESCRIPTOR_DIMS],
                    const float b[FACE_DESCRIPTOR_DIMS]);

typedef struct face_verify_result {
    float distance;
    int same_person; /* 1 when distance < FACE_SAME_PERSON_THRESHOLD */
} face_verify_result;

/* Compares the single faces of two images. Returns FACE_OK or the status of
 * face_descriptor() for the first image that fails (FACE_ERR_NO_FACE,
 * FACE_ERR_MANY_FACES, ...); on failure the result is zeroed. */
int face_verify(const face_engine *engine, const face_image *a,
                const face_image *b, face_verify_result *result,
                char *err, size_t err_len);

/* Head-turn liveness. */
typedef enum face_turn {
    FACE_TURN_LEFT = 1,  /* the citizen turns to their own left: in an
                            unmirrored photo the nose moves to the image's
                            right */
    FACE_TURN_RIGHT = 2  /* their own right: nose toward the image's left */
} face_turn;

/* Scale-free yaw estimate from 68 landmarks: the nose tip's horizontal
 * offset from the midpoint of the outer eye corners and jaw sides, divided
 * by the face width. 0 for a frontal face, positive when the nose is toward
 * the image's right edge (FACE_TURN_LEFT), negative toward the left. */
float face_yaw(const face_point landmarks[FACE_LANDMARK_POINTS]);

typedef struct face_liveness_result {
    float yaw_frontal;   /* face_yaw() of the frontal frame */
    float yaw_turned;    /* face_yaw() of the turned frame */
    float distance;      /* descriptor distance between the two frames */
    int turned;          /* 1 when the head turned as asked, by enough */
    int same_person;     /* 1 when distance < FACE_SAME_PERSON_THRESHOLD */
    int live;            /* turned && same_person */
} face_liveness_result;

/* Checks a frontal frame and a frame answering the challenge. Each frame
 * must hold exactly one face. Returns FACE_OK (then read result->live), a
 * face_descriptor() status for a frame without exactly one face, or
 * FACE_ERR_LIVENESS_CHALLENGE; on failure the result is zeroed. */
int face_liveness_check(const face_engine *engine, const face_image *frontal,
                        const face_image *turned, face_turn challenge,
                        face_liveness_result *result, char *err,
                        size_t err_len);

#endif
