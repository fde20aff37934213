"""Named users of SafeStats: who they are and how they sign in."""
