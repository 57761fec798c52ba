/*
 * face_liveness.c: the head-turn liveness check: a scale-free yaw estimate
 * from the 68 landmarks, compared between a frontal frame and a frame
 * answering a "turn left" / "turn right" challenge, plus a descriptor
 * match between the two frames.
 */
#include <math.h>
#include <string.h>

#include "face/face_internal.h"

float
face_yaw(const face_point landmarks[FACE_LANDMARK_POINTS])
{
    /* nose tip 30; jaw sides 0 and 16; outer eye corners 36 and 45 */
    float jaw_mid = (landmarks[0].x + landmarks[16].x) / 2.0f;
    float eye_mid = (landmarks[36].x + landmarks[45].x) / 2.0f;
    float width = fabsf(landmarks[16].x - landmarks[0].x);
    float mid = (jaw_mid + eye_mid) / 2.0f;

    if (!(width > 0.0f))
        return 0.0f;
    return (landmarks[30].x - mid) / width;
}

int
face_liveness_check(const face_engine *engine, const face_image *frontal,
                    const face_image *turned, face_turn challenge,
                    face_liveness_result *result, char *err, size_t err_len)
{
    float d_frontal[FACE_DESCRIPTOR_DIMS], d_turned[FACE_DESCRIPTOR_DIMS];
    face_detection f_frontal, f_turned;
    float change;
    int status;

    if (result == NULL)
        return face_error(err, err_len, FACE_ERR_ARGUMENT, "no result");
    memset(result, 0, sizeof(*result));
    if (challenge != FACE_TURN_LEFT && challenge != FACE_TURN_RIGHT)
        return face_error(err, err_len, FACE_ERR_LIVENESS_CHALLENGE,
                          "unknown head-turn challenge");
    status = face_descriptor(engine, frontal, d_frontal, &f_frontal, err,
                             err_len);
    if (status == FACE_OK)
        status = face_descriptor(engine, turned, d_turned, &f_turned, err,
                                 err_len);
    if (status != FACE_OK)
        return status;
    result->yaw_frontal = face_yaw(f_frontal.landmarks);
    result->yaw_turned = face_yaw(f_turned.landmarks);
    change = result->yaw_turned - result->yaw_frontal;
    if (challenge == FACE_TURN_RIGHT)
        change = -change;
    result->turned = fabsf(result->yaw_frontal) < FACE_LIVENESS_MAX_FRONTAL_YAW &&
                     change >= FACE_LIVENESS_MIN_YAW_CHANGE;
    result->distance = face_distance(d_frontal, d_turned);
    result->same_person = result->distance < FACE_SAME_PERSON_THRESHOLD;
    result->live = result->turned && result->same_person;
    return FACE_OK;
}
