/*
 * Sample: render the virtual camera (or, with "camera", the selected camera: the system's
 * first, else the virtual one) into an RGBA view from a render loop and print the frame
 * counters it reads back (a real camera's frames have none) and a pixel of each frame.
 *
 *   video_render [seconds] [camera [WxH@FPS]]   (default 2 s of the virtual camera)
 *
 * With a size and rate the camera is opened with acs_camera_options (the nearest it offers),
 * and the sample prints what the driver gives ("captures FORMAT WxH at F fps").
 */
#define _POSIX_C_SOURCE 200809L
#include <acscalling.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int check(acs_status s, const char *what) {
    if (s != ACS_OK) {
        char msg[256] = "";
        acs_last_error_message(msg, sizeof msg);
        fprintf(stderr, "%s: %s: %s\n", what, acs_status_to_string(s), msg);
        exit(1);
    }
    return 0;
}

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    acs_local_video_stream *camera;
    acs_video_renderer *renderer;
    acs_video_view *view;
    acs_call_client *client = NULL;
    if (argc > 2 && strcmp(argv[2], "camera") == 0) {
        acs_call_client_options co;
        acs_device_manager *dm;
        acs_camera *cam;
        char id[256];
        check(ACS_CALL_CLIENT_OPTIONS_INIT(&co), "client options");
        check(acs_call_client_create(&co, &client), "create client");
        check(acs_call_client_get_device_manager(client, &dm), "device manager");
        check(acs_device_manager_get_selected_camera(dm, &cam), "selected camera");
        check(acs_camera_get_id(cam, id, sizeof id, NULL), "camera id");
        printf("camera %s\n", id);
        acs_camera_options co2;
        check(ACS_CAMERA_OPTIONS_INIT(&co2), "camera options");
        if (argc > 3 && sscanf(argv[3], "%ux%u@%u", &co2.width, &co2.height, &co2.fps) != 3) {
            fprintf(stderr, "camera options: want WxH@FPS, got %s\n", argv[3]);
            return 2;
        }
        check(acs_local_video_stream_create_from_camera_with_options(cam, &co2, &camera), "create camera stream");
        acs_camera_release(cam);
        acs_camera_capture_format cf;
        ACS_CAMERA_CAPTURE_FORMAT_INIT(&cf);
        if (acs_local_video_stream_get_camera_format(camera, &cf) == ACS_OK) {
            static const char *names[] = {"ANY", "YUYV", "UYVY", "NV12", "I420", "YV12", "MJPEG"};
            printf("captures %s %ux%u at %.1f fps\n", cf.format >= 0 && cf.format <= 6 ? names[cf.format] : "?",
                   cf.width, cf.height, cf.fps);
        }
        acs_device_manager_release(dm);
    } else {
        check(acs_local_video_stream_create_virtual(640, 360, 30, &camera), "create virtual camera");
    }
    check(acs_video_renderer_create_for_local_stream(camera, &renderer), "create renderer");
    acs_video_view_options o;
    ACS_VIDEO_VIEW_OPTIONS_INIT(&o);
    o.width = 320;
    o.height = 180;
    o.format = ACS_PIXEL_FORMAT_RGBA;
    o.scaling_mode = ACS_SCALING_MODE_FIT;
    check(acs_video_renderer_create_view(renderer, &o, &view), "create view");

    int frames = 0;
    const struct timespec tick = {0, 16 * 1000000L}; /* a ~60 Hz render loop */
    for (int i = 0; i < (int)(seconds * 60); i++) {
        acs_rendered_video_frame f;
        ACS_RENDERED_VIDEO_FRAME_INIT(&f);
        if (acs_video_view_take_latest_rendered_frame(view, &f) == ACS_OK) {
            uint32_t counter = 0;
            acs_status s = acs_rendered_video_frame_read_test_pattern_counter(&f, &counter);
            const uint8_t *p = f.planes[0] + (f.height / 2) * f.strides[0];
            printf("frame #%llu %ux%u counter %s%u centre-left RGBA %u,%u,%u,%u\n",
                   (unsigned long long)f.sequence, f.width, f.height, s == ACS_OK ? "" : "(none) ",
                   counter, p[0], p[1], p[2], p[3]);
            acs_rendered_video_frame_release(&f);
            frames++;
        }
        nanosleep(&tick, NULL);
    }
    acs_video_view_statistics st;
    ACS_VIDEO_VIEW_STATISTICS_INIT(&st);
    check(acs_video_view_get_statistics(view, &st), "stats");
    printf("%d frames rendered in %.1f s (%llu dropped)\n", frames, seconds, (unsigned long long)st.frames_dropped);
    acs_video_view_release(view);
    acs_video_renderer_release(renderer);
    acs_local_video_stream_release(camera);
    acs_call_client_release(client);
    return frames > 0 ? 0 : 1;
}
