/*
 * test_interval_tree.c - src/core/interval_tree.c against a brute-force model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/interval_tree.h"

/* Check order, AVL balance, heights and max_last; returns the subtree size. */
static size_t check_subtree(const struct itree_node *n, const struct itree_node *lo,
                            const struct itree_node *hi)
{
    if (!n) {
        return 0;
    }
    assert_true(n->start <= n->last);
    if (lo) {
        assert_true(lo->start < n->start || (lo->start == n->start && lo < n));
    }
    if (hi) {
        assert_true(n->start < hi->start || (n->start == hi->start && n < hi));
    }
    size_t count = 1 + check_subtree(n->left, lo, n) + check_subtree(n->right, n, hi);
    int hl = n->left ? n->left->height : 0;
    int hr = n->right ? n->right->height : 0;
    assert_int_equal(n->height, (hl > hr ? hl : hr) + 1);
    assert_true(hl - hr <= 1 && hr - hl <= 1);
    uint64_t max = n->last;
    if (n->left && n->left->max_last > max) {
        max = n->left->max_last;
    }
    if (n->right && n->right->max_last > max) {
        max = n->right->max_last;
    }
    assert_true(n->max_last == max);
    return count;
}

static void check_tree(const struct itree *t)
{
    assert_int_equal(check_subtree(t->root, NULL, NULL), t->count);
}

static void test_empty(void **state)
{
    struct itree t;
    itree_init(&t);
    assert_null(itree_lookup(&t, 0));
    assert_null(itree_first_overlap(&t, 0, UINT64_MAX));
    assert_null(itree_first(&t));
}

static void test_point_and_edges(void **state)
{
    struct itree t;
    struct itree_node a = {.start = 0x1000, .last = 0x1fff};
    struct itree_node b = {.start = 0x2000, .last = 0x2fff};
    struct itree_node top = {.start = UINT64_MAX - 0xfff, .last = UINT64_MAX};

    itree_init(&t);
    itree_insert(&t, &b);
    itree_insert(&t, &a);
    itree_insert(&t, &top);
    check_tree(&t);
    assert_null(itree_lookup(&t, 0xfff));
    assert_ptr_equal(itree_lookup(&t, 0x1000), &a);
    assert_ptr_equal(itree_lookup(&t, 0x1fff), &a);
    assert_ptr_equal(itree_lookup(&t, 0x2000), &b);
    assert_ptr_equal(itree_lookup(&t, 0x2fff), &b);
    assert_null(itree_lookup(&t, 0x3000));
    assert_ptr_equal(itree_lookup(&t, UINT64_MAX), &top);
    /* A range touching both returns the lowest start. */
    assert_ptr_equal(itree_first_overlap(&t, 0x1fff, 0x2000), &a);
    assert_ptr_equal(itree_first_overlap(&t, 0x0, 0x1000), &a);
    assert_null(itree_first_overlap(&t, 0x3000, UINT64_MAX - 0x1000));
    assert_ptr_equal(itree_first(&t), &a);
    itree_remove(&t, &a);
    check_tree(&t);
    assert_null(itree_lookup(&t, 0x1800));
    assert_ptr_equal(itree_first_overlap(&t, 0x0, 0x2000), &b);
}

/* A long interval hidden deep in the left must still be found. */
static void test_long_interval_left(void **state)
{
    struct itree t;
    struct itree_node n[64];

    itree_init(&t);
    n[0].start = 0;
    n[0].last = 1000000; /* covers everything below */
    itree_insert(&t, &n[0]);
    for (int i = 1; i < 64; i++) {
        n[i].start = (uint64_t)i * 100;
        n[i].last = (uint64_t)i * 100 + 10;
        itree_insert(&t, &n[i]);
    }
    check_tree(&t);
    assert_ptr_equal(itree_lookup(&t, 50), &n[0]);
    assert_ptr_equal(itree_lookup(&t, 999999), &n[0]);
    assert_ptr_equal(itree_lookup(&t, 6305), &n[0]); /* n[0] starts lowest */
    assert_null(itree_lookup(&t, 1000001));
}

struct collect {
    struct itree_node *seen[512];
    int count;
};

static int collect_fn(struct itree_node *n, void *ctx)
{
    struct collect *c = ctx;
    c->seen[c->count++] = n;
    return 0;
}

static int stop_fn(struct itree_node *n, void *ctx)
{
    (*(int *)ctx)++;
    return 7;
}

#define NNODES 400

/* Random inserts/removes with overlaps allowed, checked against brute force. */
static void test_random_against_model(void **state)
{
    static struct itree_node nodes[NNODES];
    bool in[NNODES] = {false};
    struct itree t;
    unsigned int seed = 12345;

    itree_init(&t);
    for (int step = 0; step < 20000; step++) {
        int i = rand_r(&seed) % NNODES;
        if (in[i]) {
            itree_remove(&t, &nodes[i]);
            in[i] = false;
        } else {
            uint64_t s = (uint64_t)(rand_r(&seed) % 100000);
            nodes[i].start = s;
            nodes[i].last = s + (uint64_t)(rand_r(&seed) % (rand_r(&seed) % 4 ? 50 : 5000));
            itree_insert(&t, &nodes[i]);
            in[i] = true;
        }
        if (step % 97 == 0) {
            check_tree(&t);
        }
        /* Query a random range; the model answer is the lowest (start, addr). */
        uint64_t qs = (uint64_t)(rand_r(&seed) % 101000);
        uint64_t ql = qs + (uint64_t)(rand_r(&seed) % 3 ? 0 : rand_r(&seed) % 300);
        struct itree_node *want = NULL;
        int nwant = 0;
        for (int j = 0; j < NNODES; j++) {
            if (!in[j] || nodes[j].last < qs || nodes[j].start > ql) {
                continue;
            }
            nwant++;
            if (!want || nodes[j].start < want->start ||
                (nodes[j].start == want->start && &nodes[j] < want)) {
                want = &nodes[j];
            }
        }
        assert_ptr_equal(itree_first_overlap(&t, qs, ql), want);
        if (step % 13 == 0) {
            struct collect c = {.count = 0};
            assert_int_equal(itree_foreach_overlap(&t, qs, ql, collect_fn, &c), 0);
            assert_int_equal(c.count, nwant);
            for (int k = 1; k < c.count; k++) {
                assert_true(c.seen[k - 1]->start <= c.seen[k]->start);
            }
            if (nwant) {
                int calls = 0;
                assert_int_equal(itree_foreach_overlap(&t, qs, ql, stop_fn, &calls), 7);
                assert_int_equal(calls, 1);
            }
        }
    }
    check_tree(&t);
    /* Drain in order. */
    uint64_t prev = 0;
    struct itree_node *n;
    while ((n = itree_first(&t)) != NULL) {
        assert_true(n->start >= prev);
        prev = n->start;
        itree_remove(&t, n);
    }
    assert_int_equal(t.count, 0);
    assert_null(t.root);
}

/* Sequential inserts must stay balanced (an unbalanced BST would be a list). */
static void test_balanced_on_sorted_input(void **state)
{
    static struct itree_node nodes[4096];
    struct itree t;

    itree_init(&t);
    for (int i = 0; i < 4096; i++) {
        nodes[i].start = (uint64_t)i * 16;
        nodes[i].last = (uint64_t)i * 16 + 15;
        itree_insert(&t, &nodes[i]);
    }
    check_tree(&t);
    assert_true(t.root->height <= 18); /* 1.44 * log2(4096) + 1 */
    for (int i = 0; i < 4096; i += 2) {
        itree_remove(&t, &nodes[i]);
    }
    check_tree(&t);
    assert_true(t.root->height <= 17);
    assert_null(itree_lookup(&t, 0));
    assert_ptr_equal(itree_lookup(&t, 16 * 1001 + 3), &nodes[1001]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_point_and_edges),
        cmocka_unit_test(test_long_interval_left),
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_balanced_on_sorted_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
