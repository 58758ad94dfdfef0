/*
 * godot_util.c — Variant and argument helpers of the Godot plugin, and its error reporting.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acs_godot.h"

godot_variant v_int(int64_t value) {
    godot_variant v;
    api->godot_variant_new_int(&v, value);
    return v;
}

godot_variant v_real(double value) {
    godot_variant v;
    api->godot_variant_new_real(&v, value);
    return v;
}

godot_variant v_bool(bool value) {
    godot_variant v;
    api->godot_variant_new_bool(&v, value);
    return v;
}

godot_variant v_string(const char *utf8) {
    godot_string s;
    godot_variant v;
    api->godot_string_new(&s);
    if (utf8 != NULL) {
        api->godot_string_destroy(&s);
        s = api->godot_string_chars_to_utf8(utf8);
    }
    api->godot_variant_new_string(&v, &s);
    api->godot_string_destroy(&s);
    return v;
}

/* dict[key] = value, consuming `value`. */
void dict_set(godot_dictionary *d, const char *key, godot_variant value) {
    godot_variant k = v_string(key);
    api->godot_dictionary_set(d, &k, &value);
    api->godot_variant_destroy(&k);
    api->godot_variant_destroy(&value);
}

void print_line(const char *text) {
    godot_string s = api->godot_string_chars_to_utf8(text);
    api->godot_print(&s);
    api->godot_string_destroy(&s);
}

/* Records a failed status with the library's message; returns the status. */
acs_status fail(acs_godot *self, acs_status st, const char *what) {
    char msg[384] = "";
    acs_last_error_message(msg, sizeof msg);
    snprintf(self->last_error, sizeof self->last_error, "%s: %s (%s)", what, acs_status_to_string(st), msg);
    char line[600];
    snprintf(line, sizeof line, "[acs] %s", self->last_error);
    print_line(line);
    return st;
}

/* Records a script error (bad argument, wrong order) without a library status. */
acs_status refuse(acs_godot *self, acs_status st, const char *why) {
    snprintf(self->last_error, sizeof self->last_error, "%s: %s", acs_status_to_string(st), why);
    return st;
}

bool arg_is(godot_variant **args, int n, int i, godot_variant_type type) {
    return i < n && api->godot_variant_get_type(args[i]) == type;
}

/* A string argument as a malloc'd UTF-8 copy, or NULL when missing or not a String. */
char *arg_utf8(godot_variant **args, int n, int i) {
    if (!arg_is(args, n, i, GODOT_VARIANT_TYPE_STRING)) return NULL;
    godot_string s = api->godot_variant_as_string(args[i]);
    godot_char_string cs = api->godot_string_utf8(&s);
    const char *data = api->godot_char_string_get_data(&cs);
    char *copy = strdup(data != NULL ? data : "");
    api->godot_char_string_destroy(&cs);
    api->godot_string_destroy(&s);
    return copy;
}

