/* blkback's workers: a few threads per connected queue that take jobs off one FIFO queue and run
 * them (blkback_ring.c's preadv/pwritev/fdatasync/fallocate and the response).
 *
 * The fallback engine: io_uring (blkback_uring.c) batches a round's requests into one system call
 * where the host allows it, but it is often unavailable where a VMM runs (kernel.io_uring_disabled,
 * container seccomp profiles).  Plain blocking calls on a handful of threads keep a slow request
 * from stalling the ring with nothing but libc, at a system call and a wake-up per request. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include "backends/blkback.h"

static void *worker(void *opaque)
{
	struct blkback_pool *p = opaque;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->work, &p->lock);
		struct blkback_job *job = p->head;
		if (!job)
			break;          /* stopping, and the queue is empty */
		p->head = job->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);
		job->run(job);          /* may free or reuse job */
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int blkback_pool_start(struct blkback_pool *p, unsigned int n_threads)
{
	sigset_t all, old;
	int r = 0;

	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	p->head = p->tail = NULL;
	p->stop = false;
	p->n_threads = 0;
	if (n_threads > BLKBACK_WORKERS)
		n_threads = BLKBACK_WORKERS;
	/* Workers take no signals: the VMM's signalfd and vCPU kicks are for other threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned int i = 0; i < n_threads; i++) {
		r = pthread_create(&p->threads[i], NULL, worker, p);
		if (r)
			break;
		p->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		blkback_pool_stop(p);
		return -r;
	}
	return 0;
}

void blkback_pool_submit(struct blkback_pool *p, struct blkback_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void blkback_pool_stop(struct blkback_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	p->n_threads = 0;
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
}
